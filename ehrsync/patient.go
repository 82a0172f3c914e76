package ehrsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"frontdesk/booking"
	"frontdesk/ent"
	"frontdesk/ent/ehrrecord"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/ehr"
	"frontdesk/outbox"
)

// KindPatient is the job that writes a changed patient profile to the EHR.
const KindPatient = "ehr.patient"

// A patient's profile (what the EHR's copy is made from) is:
//   - for an account: the user's name, email and phone;
//   - for a guest ("guest:<email>"): the name and phone of the guest's
//     latest booking;
//   - for both: the date of birth of the latest intake answers that give
//     one.
//
// It changes when a user edits their profile (identity.UpdateProfile), when
// an appointment is confirmed (a guest may book again under another name or
// phone; its intake may carry a date of birth) and when intake answers are
// edited (found by the intake scan). Each queues a patient job; the job
// reads the profile as it is when it runs, so a burst of changes costs one
// EHR write, and compares it with the digest of the profile last sent, so a
// job with nothing new sends nothing.

type patientPayload struct {
	Patient string `json:"patient"`
}

// enqueuePatient queues a patient job in tx. version tells changes apart
// (the idempotency key is patient + version); the patient key is hashed
// into the key because a guest's can be longer than the key column.
func enqueuePatient(ctx context.Context, tx *ent.Tx, client *ent.Client, key, version string) error {
	sum := sha256.Sum256([]byte(key))
	j := outbox.Job{Kind: KindPatient, IdempotencyKey: "ehr.patient:" + hex.EncodeToString(sum[:12]) + ":" + version,
		Payload: patientPayload{Patient: key}}
	var err error
	if tx != nil {
		_, err = outbox.Enqueue(ctx, tx, j)
	} else {
		_, err = outbox.EnqueueDirect(ctx, client, j)
	}
	return err
}

// ProfileChanged implements identity.ProfileSink: an account's new name,
// email or phone is queued for the EHR when the account is a patient
// there, or may become one because an appointment of theirs is being
// synced. Accounts that never booked queue nothing.
func (s *Sync) ProfileChanged(ctx context.Context, tx *ent.Tx, u *ent.User) error {
	if s.ehr == nil {
		return nil
	}
	linked, err := tx.EHRRecord.Query().Where(ehrrecord.KindEQ(ehrrecord.KindPATIENT), ehrrecord.LocalKey(u.ID.String())).Exist(ctx)
	if err != nil {
		return err
	}
	if !linked {
		// An appointment job in flight may be creating the patient from
		// the old profile right now; the job queued here fixes that once
		// the link is recorded.
		booked, err := booking.HasBooked(ctx, tx, u.ID)
		if err != nil || !booked {
			return err
		}
	}
	return enqueuePatient(ctx, tx, nil, u.ID.String(), "profile:"+strconv.FormatInt(u.UpdatedAt.UnixMicro(), 36))
}

var _ identity.ProfileSink = (*Sync)(nil)

// runPatient writes the patient's current profile to the EHR.
func (s *Sync) runPatient(ctx context.Context, j *outbox.Running) error {
	var p patientPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.ehr == nil || p.Patient == "" {
		return nil
	}
	return s.pushPatient(ctx, p.Patient, false)
}

// errProfileRace is returned when the profile kept changing under the job;
// the outbox tries again later.
var errProfileRace = errors.New("the patient's profile kept changing while it was sent to the EHR")

// pushPatient sends the patient's profile when it differs from the one
// last sent (or always, with force). Nothing happens for a patient who is
// not in the EHR: their first appointment creates them from the profile
// as it is then.
//
// The digest is written back only if it is still the one read before the
// write (compare and set). When another job moved it meanwhile, the two
// writes may have reached the EHR in either order, so the latest profile
// is sent once more: the last write to finish is always the latest
// profile.
func (s *Sync) pushPatient(ctx context.Context, key string, force bool) error {
	for range 5 {
		rec, err := s.client.EHRRecord.Query().Where(ehrrecord.KindEQ(ehrrecord.KindPATIENT), ehrrecord.LocalKey(key)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		prof, err := s.profile(ctx, key)
		if err != nil {
			return err
		}
		d := digest(prof)
		if d == rec.Digest && !force {
			return nil
		}
		if err := s.ehr.UpdatePatient(ctx, rec.ExternalID, prof); err != nil {
			return retryable(fmt.Errorf("update patient %s: %w", rec.ExternalID, err))
		}
		n, err := s.client.EHRRecord.Update().Where(ehrrecord.ID(rec.ID), ehrrecord.Digest(rec.Digest)).SetDigest(d).Save(ctx)
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		force = true
	}
	return errProfileRace
}

// digest identifies a profile's contents.
func digest(p ehr.Patient) string {
	h := sha256.New()
	for _, f := range []string{p.Identifier, p.GivenName, p.FamilyName, p.BirthDate, strings.ToLower(p.Email), p.Phone} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// profile reads the patient's profile under its key (see above).
func (s *Sync) profile(ctx context.Context, key string) (ehr.Patient, error) {
	p := ehr.Patient{Identifier: key}
	var mine booking.Patient
	var name string
	if email, ok := strings.CutPrefix(key, "guest:"); ok {
		mine = booking.Patient{GuestEmail: email}
		var err error
		if name, p.Phone, err = booking.LatestGuestContact(ctx, s.client, email); err != nil {
			return p, err
		}
		p.Email = email
	} else {
		id := gid.ID(key)
		mine = booking.Patient{UserID: id}
		c, err := identity.ContactOf(ctx, s.client, id)
		if err != nil {
			return p, fmt.Errorf("load patient %s: %w", key, err)
		}
		name, p.Email, p.Phone = c.Name, c.Email, c.Phone
	}
	p.GivenName, p.FamilyName = ehr.SplitName(name)
	var err error
	p.BirthDate, err = s.birthDate(ctx, mine)
	return p, err
}

// birthDate reads a date of birth from the latest intake answers of the
// patient's appointments that give one (a DATE field whose key names it),
// which matching by name needs.
func (s *Sync) birthDate(ctx context.Context, mine booking.Patient) (string, error) {
	subs, err := booking.LatestIntakes(ctx, s.client, mine, 20)
	if err != nil {
		return "", err
	}
	for _, sub := range subs {
		for _, ans := range sub.Answers {
			k := strings.ToLower(ans.Key)
			if (strings.Contains(k, "birth") || k == "dob") && len(ans.Text) == 10 {
				return ans.Text, nil
			}
		}
	}
	return "", nil
}
