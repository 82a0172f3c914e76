// The appointment book from an empty database: an admin (made with the CLI)
// creates a practitioner with weekly hours, an intake form and a paid
// service through the API; a guest finds a slot, holds and books it, pays
// with the development gateway while appointmentStatusChanged reports it
// live, answers the intake form, reschedules and cancels. Operations as in
// docs/booking.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { start } from '../lib/server.mjs';
import { client, ok, subscribe, wsClient } from '../lib/graphql.mjs';
import { createAdmin } from '../lib/accounts.mjs';

let server;
let ws;
before(async () => {
  server = await start();
});
after(async () => {
  await ws?.dispose();
  await server?.stop();
});

test('booking: slots, hold, book, pay, intake, reschedule, cancel, live', async () => {
  const admin = await createAdmin(server);

  const prac = ok(await admin.gql(
    `mutation($in: CreatePractitionerInput!) { createPractitioner(input: $in) { practitioner { id } userErrors { field message code } } }`,
    { in: { practitioner: { name: 'Dr E2E', timeZone: 'Australia/Sydney' } } },
  )).createPractitioner.practitioner;
  ok(await admin.gql(
    `mutation($in: SetWeeklyHoursInput!) { setWeeklyHours(input: $in) { userErrors { field message code } } }`,
    { in: { practitionerId: prac.id, hours: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, startMinute: 0, endMinute: 1440 })) } },
  ));
  ok(await admin.gql(
    `mutation($in: CreateIntakeFormVersionInput!) { createIntakeFormVersion(input: $in) { form { id version } userErrors { field message code } } }`,
    { in: { key: 'e2e-intake', title: 'Before your visit', fields: [
      { key: 'reason', label: 'Reason for the visit', type: 'SHORT_TEXT', required: true },
      { key: 'consent', label: 'Consent', type: 'CONSENT', required: true, consentText: 'I agree.' },
    ] } },
  ));
  const service = ok(await admin.gql(
    `mutation($in: CreateServiceInput!) { createService(input: $in) { service { id slug } userErrors { field message code } } }`,
    { in: { service: { name: 'E2E consultation', slug: 'e2e-consult', durationMinutes: 30, price: { amount: 15000, currency: 'AUD' },
      minNoticeMinutes: 60, horizonDays: 30, intakeFormKey: 'e2e-intake', intakeRequired: true, practitionerIds: [prac.id], active: true } } },
  )).createService.service;

  // A guest looks for slots tomorrow and the day after.
  const guest = client(server.base);
  const from = new Date(Date.now() + 24 * 3600_000);
  const to = new Date(Date.now() + 3 * 24 * 3600_000);
  const slots = ok(await guest(
    `query($service: ID!, $from: Time!, $to: Time!, $tz: String!) { availableSlots(serviceId: $service, from: $from, to: $to, timeZone: $tz) { start end practitioner { id } } }`,
    { service: service.id, from: from.toISOString(), to: to.toISOString(), tz: 'Australia/Sydney' },
  )).availableSlots;
  assert.ok(slots.length > 4, `only ${slots.length} slots`);

  const hold = ok(await guest(
    `mutation($in: HoldSlotInput!) { holdSlot(input: $in) { appointment { id state holdExpiresAt } holdToken userErrors { field message code } } }`,
    { in: { serviceId: service.id, practitionerId: slots[0].practitioner.id, start: slots[0].start, idempotencyKey: randomUUID() } },
  )).holdSlot;
  const appointmentId = hold.appointment.id;

  const booked = ok(await guest(
    `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { appointment { id state } manageToken paymentClientSecret userErrors { field message code } } }`,
    { in: { appointmentId, holdToken: hold.holdToken, guest: { name: 'Jo Citizen', email: 'jo@e2e.test', phone: '+61412345678' } } },
  )).bookAppointment;
  assert.equal(booked.appointment.state, 'PENDING_PAYMENT');
  const token = booked.manageToken;
  assert.ok(booked.paymentClientSecret);

  ws = wsClient(server.base);
  const live = await subscribe(ws,
    `subscription($id: ID!, $token: String) { appointmentStatusChanged(appointmentId: $id, manageToken: $token) { id state startAt } }`,
    { id: appointmentId, token });

  // Pay with the development gateway.
  const settled = ok(await guest(
    `mutation($in: SettleDevelopmentPaymentInput!) { settleDevelopmentPayment(input: $in) { appointmentId succeeded userErrors { field message code } } }`,
    { in: { clientSecret: booked.paymentClientSecret, succeed: true } },
  )).settleDevelopmentPayment;
  assert.equal(settled.appointmentId, appointmentId);
  await live.next((e) => e.data?.appointmentStatusChanged?.state === 'CONFIRMED');

  // Intake.
  const intake = ok(await guest(
    `mutation($in: SubmitIntakeFormInput!) { submitIntakeForm(input: $in) { submission { id answers { key text bool } } userErrors { field message code } } }`,
    { in: { appointmentId, manageToken: token, answers: [{ key: 'reason', text: 'Back pain' }, { key: 'consent', bool: true }] } },
  )).submitIntakeForm;
  assert.equal(intake.submission.answers.length, 2);

  // Reschedule to another free time with the same practitioner.
  const other = slots.find((s) => s.start !== slots[0].start && s.practitioner.id === slots[0].practitioner.id && Date.parse(s.start) >= Date.parse(slots[0].end));
  const moved = ok(await guest(
    `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { appointment { id startAt state } userErrors { message code } } }`,
    { in: { appointmentId, manageToken: token, start: other.start } },
  )).rescheduleAppointment.appointment;
  assert.equal(Date.parse(moved.startAt), Date.parse(other.start));
  await live.next((e) => Date.parse(e.data?.appointmentStatusChanged?.startAt) === Date.parse(other.start));

  // Cancel.
  ok(await guest(
    `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { appointment { id state } userErrors { message code } } }`,
    { in: { appointmentId, manageToken: token, reason: 'e2e' } },
  ));
  await live.next((e) => e.data?.appointmentStatusChanged?.state === 'CANCELLED');
  const read = ok(await guest(`query($id: ID!, $token: String) { appointment(id: $id, manageToken: $token) { state } }`, { id: appointmentId, token })).appointment;
  assert.equal(read.state, 'CANCELLED');
  live.stop();
});
