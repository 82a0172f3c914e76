// Partners: outgoing webhooks received by a loopback receiver in this
// process and verified with the official Standard Webhooks library
// (npm `standardwebhooks`), as docs/webhooks.md tells receivers to; and
// trusted documents on a production server that requires them
// (docs/authentication.md, "Trusted documents").
//
// Loopback receivers are allowed only because the server runs with
// FRONTDESK_WEBHOOK_ALLOW_PRIVATE=true (development only).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { start } from '../lib/server.mjs';
import { client, ok } from '../lib/graphql.mjs';
import { createAdmin } from '../lib/accounts.mjs';

// receiver is an HTTP server on loopback that keeps every request (raw
// body bytes and headers) and answers what answer(request) returns.
async function receiver() {
  const got = [];
  const waiters = [];
  let answer = () => 204;
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = { path: req.url, headers: req.headers, raw: Buffer.concat(chunks) };
      rec.json = JSON.parse(rec.raw.toString('utf8'));
      got.push(rec);
      res.writeHead(answer(rec)).end();
      for (const w of [...waiters]) {
        if (w.pred(rec)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    got,
    setAnswer(f) {
      answer = f;
    },
    // next resolves with the first request, received or to come, that
    // matches pred and was not taken by an earlier next.
    next(pred, timeout = 20_000) {
      const taken = (r) => r.taken;
      const i = got.findIndex((r) => !taken(r) && pred(r));
      if (i >= 0) {
        got[i].taken = true;
        return Promise.resolve(got[i]);
      }
      return new Promise((resolve, reject) => {
        const w = { pred: (r) => !taken(r) && pred(r), resolve: (r) => { r.taken = true; resolve(r); } };
        waiters.push(w);
        setTimeout(() => {
          const j = waiters.indexOf(w);
          if (j >= 0) {
            waiters.splice(j, 1);
            reject(new Error(`no matching webhook in ${timeout} ms; got ${JSON.stringify(got.map((r) => [r.path, r.json.type, r.json.data]))}`));
          }
        }, timeout).unref();
      });
    },
    close: () => new Promise((resolve) => srv.close(resolve)),
  };
}

const is = (path, type) => (r) => r.path === path && r.json.type === type;

// verified checks one request with the official library and returns the
// event it yields.
function verified(secret, rec) {
  const event = new Webhook(secret).verify(rec.raw, rec.headers);
  assert.deepEqual(event, rec.json);
  return event;
}

function refused(secret, rec, raw = rec.raw) {
  assert.throws(() => new Webhook(secret).verify(raw, rec.headers), WebhookVerificationError);
}

const CreateEndpoint = `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) {
  secret endpoint { id url events state } userErrors { field code message } } }`;
const Ping = `mutation($id: ID!) { pingWebhookEndpoint(input: {id: $id}) { delivery { id eventId eventType } userErrors { field code message } } }`;
const Rotate = `mutation($id: ID!, $overlap: Int!) { rotateWebhookSecret(input: {id: $id, overlapSeconds: $overlap}) {
  secret endpoint { id previousSecretExpiresAt } userErrors { field code message } } }`;

describe('webhooks, verified with the standardwebhooks npm package', () => {
  let server;
  let rc;
  let admin;
  let endpoint;
  let secret;
  before(async () => {
    server = await start({ FRONTDESK_WEBHOOK_ALLOW_PRIVATE: 'true', FRONTDESK_WORKER_POLL_INTERVAL: '200ms' });
    rc = await receiver();
    admin = await createAdmin(server);
    const created = ok(await admin.gql(CreateEndpoint, { in: {
      url: rc.url + '/a',
      events: ['PRODUCT_CREATED', 'CUSTOMER_CREATED', 'ORDER_CREATED', 'ORDER_PAID'],
      description: 'e2e receiver',
    } })).createWebhookEndpoint;
    assert.match(created.secret, /^whsec_/);
    assert.equal(created.endpoint.state, 'ACTIVE');
    endpoint = created.endpoint.id;
    secret = created.secret;
  });
  after(async () => {
    await rc?.close();
    await server?.stop();
  });

  test('a ping arrives signed with the endpoint secret', async () => {
    const ping = ok(await admin.gql(Ping, { id: endpoint })).pingWebhookEndpoint.delivery;
    assert.equal(ping.eventType, 'WEBHOOK_PING');
    const rec = await rc.next(is('/a', 'webhook.ping'));
    assert.equal(rec.headers['webhook-id'], ping.eventId);
    const event = verified(secret, rec);
    assert.equal(event.data.endpointId, endpoint);
    // The check can fail: another secret, or one changed byte, is refused.
    refused('whsec_' + Buffer.alloc(32, 7).toString('base64'), rec);
    refused(secret, rec, Buffer.from(rec.raw.toString('utf8').replace('webhook.ping', 'webhook.pong')));
  });

  test('real changes: a product, a registration, a guest order paid', async () => {
    const product = ok(await admin.gql(
      `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id variants { id } } userErrors { field code message } } }`,
      { in: { title: 'E2E Hook Mug', status: 'ACTIVE', variants: [{ sku: 'E2E-HM', price: { amount: 2500, currency: 'AUD' }, onHand: 50 }] } },
    )).createProduct.product;
    const shipping = ok(await admin.gql(
      `mutation($in: CreateShippingMethodInput!) { createShippingMethod(input: $in) { shippingMethod { id } userErrors { field message code } } }`,
      { in: { name: 'Standard', kind: 'FLAT', country: 'AU', price: 1000, currency: 'AUD' } },
    )).createShippingMethod.shippingMethod;

    // Anyone registers (the public API): customer.created.
    const guest = client(server.base);
    const reg = ok(await guest(
      'mutation($in: RegisterInput!) { register(input: $in) { user { id } userErrors { field message code } } }',
      { in: { email: 'hooked@e2e.test', name: 'Hooked Customer', password: 'a long passphrase here' } },
    )).register;

    // A guest buys and pays: order.created, order.paid.
    const cartToken = ok(await guest(`mutation { createCart(input: {currency: "AUD"}) { cartToken userErrors { field message code } } }`)).createCart.cartToken;
    ok(await guest(`mutation($in: AddCartLineInput!) { addCartLine(input: $in) { cart { id } userErrors { field message code } } }`,
      { in: { cartToken, variantId: product.variants[0].id, quantity: 1 } }));
    ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { id } userErrors { field message code } } }`,
      { in: { cartToken, email: 'buyer@e2e.test', shippingAddress: { name: 'Bo Buyer', line1: '1 George St', city: 'Sydney', region: 'nsw', postalCode: '2000', country: 'au' } } }));
    ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { id } userErrors { field message code } } }`,
      { in: { cartToken, shippingMethodId: shipping.id } }));
    const order = ok(await guest(`mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { order { id } userErrors { field message code } } }`,
      { in: { cartToken, idempotencyKey: randomUUID() } })).placeOrder.order;
    ok(await guest(`mutation($in: CompleteDevelopmentPaymentInput!) { completeDevelopmentPayment(input: $in) { order { state } userErrors { field message code } } }`,
      { in: { orderId: order.id, orderToken: cartToken, succeed: true } }));

    const want = [
      ['product.created', (d) => d.productId === product.id],
      ['customer.created', (d) => d.customerId === reg.user.id],
      ['order.created', (d) => d.orderId === order.id && d.state === 'PENDING_PAYMENT'],
      ['order.paid', (d) => d.orderId === order.id && d.state === 'PAID' && d.previousState === 'PENDING_PAYMENT'],
    ];
    const ids = new Set();
    for (const [type, match] of want) {
      const rec = await rc.next((r) => is('/a', type)(r) && match(r.json.data));
      const event = verified(secret, rec);
      assert.equal(event.type, type);
      assert.ok(!Number.isNaN(Date.parse(event.timestamp)), event.timestamp);
      assert.match(rec.headers['webhook-id'], /^evt_/);
      assert.ok(Math.abs(Number(rec.headers['webhook-timestamp']) - Date.now() / 1000) < 300);
      ids.add(rec.headers['webhook-id']);
    }
    assert.equal(ids.size, want.length, 'two events shared a webhook-id');
    // Nothing the endpoint did not ask for: no product.updated, no stock events.
    assert.deepEqual(rc.got.filter((r) => r.path === '/a' && !['webhook.ping', ...want.map((w) => w[0])].includes(r.json.type)), []);
  });

  test('a receiver that answers 500 gets the same event again, same webhook-id and body', async () => {
    const failing = ok(await admin.gql(CreateEndpoint, { in: { url: rc.url + '/b', events: ['PRODUCT_UPDATED'] } })).createWebhookEndpoint;
    let calls = 0;
    rc.setAnswer((r) => (r.path === '/b' && ++calls === 1 ? 500 : 204));
    const product = ok(await admin.gql(
      `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { field code message } } }`,
      { in: { title: 'E2E Retry Bowl', status: 'DRAFT', variants: [{ sku: 'E2E-RB', price: { amount: 900, currency: 'AUD' }, onHand: 9 }] } },
    )).createProduct.product;
    ok(await admin.gql(`mutation($in: UpdateProductInput!) { updateProduct(input: $in) { product { id } userErrors { field code message } } }`,
      { in: { id: product.id, title: 'E2E Retry Bowl, blue' } }));
    const first = await rc.next(is('/b', 'product.updated'));
    verified(failing.secret, first);

    // The retry is due about 30 s later (docs/webhooks.md); an operator's
    // runJobNow brings the same outbox job forward, which is what a wait
    // would do.
    const JobsQ = `{ jobs(first: 20, states: [PENDING], kinds: ["webhooks.deliver"]) { edges { node { id attempts } } } }`;
    let job;
    const deadline = Date.now() + 20_000;
    while (!job) {
      job = ok(await admin.gql(JobsQ)).jobs.edges.map((e) => e.node).find((n) => n.attempts === 1);
      if (!job) {
        assert.ok(Date.now() < deadline, 'the failed delivery was not rescheduled');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ok(await admin.gql(`mutation($id: ID!) { runJobNow(input: {id: $id}) { job { id } userErrors { field code message } } }`, { id: job.id }));
    const second = await rc.next(is('/b', 'product.updated'));
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
    assert.equal(second.raw.toString(), first.raw.toString());
    const event = verified(failing.secret, second);
    assert.equal(event.data.productId, product.id);

    // The delivery log has both attempts.
    const log = `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 5) { edges { node { eventId state attempts attemptLog { number status } } } } } } }`;
    let d;
    const until = Date.now() + 10_000;
    for (;;) {
      d = ok(await admin.gql(log, { id: failing.endpoint.id })).node.deliveries.edges[0]?.node;
      if (d?.state === 'SUCCEEDED' || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(d.eventId, first.headers['webhook-id']);
    assert.equal(d.state, 'SUCCEEDED');
    assert.deepEqual(d.attemptLog.map((a) => a.status), [500, 204]);
  });

  test('secret rotation: both signatures verify during the overlap, only the new one after', async () => {
    const rotated = ok(await admin.gql(Rotate, { id: endpoint, overlap: 3600 })).rotateWebhookSecret;
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, secret);
    assert.ok(Date.parse(rotated.endpoint.previousSecretExpiresAt) > Date.now());
    const ping = ok(await admin.gql(Ping, { id: endpoint })).pingWebhookEndpoint.delivery;
    const during = await rc.next((r) => r.path === '/a' && r.headers['webhook-id'] === ping.eventId);
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2, during.headers['webhook-signature']);
    verified(secret, during);
    verified(rotated.secret, during);

    // Rotating again with no overlap retires both older secrets at once.
    const newest = ok(await admin.gql(Rotate, { id: endpoint, overlap: 0 })).rotateWebhookSecret;
    const ping2 = ok(await admin.gql(Ping, { id: endpoint })).pingWebhookEndpoint.delivery;
    const afterRec = await rc.next((r) => r.path === '/a' && r.headers['webhook-id'] === ping2.eventId);
    verified(newest.secret, afterRec);
    refused(rotated.secret, afterRec);
    refused(secret, afterRec);
  });
});

describe('trusted documents on a production server that requires them', () => {
  let server;
  let dir;
  before(async () => {
    server = await start({
      FRONTDESK_ENV: 'production',
      FRONTDESK_TRUSTED_DOCUMENTS: 'require',
      // Production refuses the development gateway; nothing here pays.
      FRONTDESK_STRIPE_SECRET_KEY: 'sk_test_unused',
      FRONTDESK_STRIPE_WEBHOOK_SECRET: 'whsec_unused',
      FRONTDESK_STRIPE_API_URL: 'http://127.0.0.1:9',
      FRONTDESK_BOOKING_SECRET: 'e2e-booking-secret-' + randomUUID(),
    });
    dir = mkdtempSync(join(tmpdir(), 'frontdesk-e2e-docs-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an ad-hoc document is refused; registered ones run by id over GET and POST', async () => {
    const anon = client(server.base);
    const adHoc = await anon('query Kind { __typename }');
    assert.deepEqual(adHoc.errors?.map((e) => e.extensions?.code), ['TRUSTED_DOCUMENT_REQUIRED'], JSON.stringify(adHoc));
    assert.equal(adHoc.data, undefined);

    // The web shop's build output (relay-compiler's persisted queries),
    // registered with the CLI.
    const relay = {
      'e2e-kind-1': 'query Kind { __typename }',
      'e2e-signin-1': 'mutation SignIn($in: SignInInput!) { signIn(input: $in) { token user { role } userErrors { field code message } } }',
    };
    const file = join(dir, 'persisted-queries.json');
    writeFileSync(file, JSON.stringify(relay));
    const reg = await server.cli(['documents', 'register', '--client', 'web-shop', file]);
    assert.equal(reg.code, 0, reg.stdout + reg.stderr);
    assert.match(reg.stdout, /2 documents for client web-shop, 2 new/);

    // GET by id: what a CDN can cache.
    const get = await fetch(`${server.base}/graphql?documentId=e2e-kind-1`, { headers: { accept: 'application/graphql-response+json' } });
    assert.equal(get.status, 200);
    assert.deepEqual(await get.json(), { data: { __typename: 'Query' } });

    // The first admin, made with the CLI, signs in with the trusted
    // sign-in document (POST, with variables).
    const made = await server.cli(['users', 'create', '--email', 'admin@e2e.test', '--name', 'E2E Admin', '--role', 'ADMIN'], { input: 'correct horse battery staple\n' });
    assert.equal(made.code, 0, made.stdout + made.stderr);
    const res = await fetch(server.base + '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ documentId: 'e2e-signin-1', variables: { in: { email: 'admin@e2e.test', password: 'correct horse battery staple' } } }),
    });
    const signIn = (await res.json()).data.signIn;
    assert.equal(signIn.user.role, 'ADMIN', JSON.stringify(signIn));

    // Staff still send any document, such as the registering mutation
    // with the mobile app's Apollo manifest.
    const staff = client(server.base, signIn.token);
    const apollo = {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: 'e2e-apollo-products', name: 'FirstProducts', type: 'query', body: 'query FirstProducts($n: Int!) { products(first: $n) { totalCount } }' }],
    };
    const added = ok(await staff(
      `mutation($in: RegisterTrustedDocumentsInput!) { registerTrustedDocuments(input: $in) { added total userErrors { field code message } } }`,
      { in: { client: 'ios', manifest: JSON.stringify(apollo) } },
    )).registerTrustedDocuments;
    assert.deepEqual(added, { added: 1, total: 1, userErrors: [] });
    const byId = await fetch(`${server.base}/graphql?documentId=e2e-apollo-products&variables=${encodeURIComponent(JSON.stringify({ n: 2 }))}`);
    assert.equal(byId.status, 200);
    assert.deepEqual(await byId.json(), { data: { products: { totalCount: 0 } } });
    // What Apollo Client's persisted query link sends: the manifest id as
    // the persistedQuery hash, and no query.
    const linkRes = await fetch(server.base + '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ operationName: 'FirstProducts', variables: { n: 1 }, extensions: { persistedQuery: { version: 1, sha256Hash: 'e2e-apollo-products' } } }),
    });
    assert.deepEqual(await linkRes.json(), { data: { products: { totalCount: 0 } } });

    // An unknown id has its own code.
    const unknown = await fetch(`${server.base}/graphql?documentId=e2e-nope`);
    const body = await unknown.json();
    assert.deepEqual(body.errors?.map((e) => e.extensions?.code), ['PERSISTED_DOCUMENT_NOT_FOUND'], JSON.stringify(body));
    // Anonymous clients cannot register documents: the mutation is ad hoc.
    const sneak = await anon(`mutation($in: RegisterTrustedDocumentsInput!) { registerTrustedDocuments(input: $in) { added } }`,
      { in: { client: 'x', manifest: JSON.stringify({ 'e2e-x': '{ __typename }' }) } });
    assert.deepEqual(sneak.errors?.map((e) => e.extensions?.code), ['TRUSTED_DOCUMENT_REQUIRED']);
  });
});
