package calendarsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"frontdesk/booking"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/calendarlink"
	"frontdesk/gid"
	"frontdesk/integrations/msgraph"
	"frontdesk/outbox"
	"frontdesk/secret"
)

type deltaPayload struct {
	LinkID gid.ID `json:"linkId"`
	// Full drops the delta link first (a missed notification, a removed
	// subscription): everything is read again and replaces what is stored.
	Full bool `json:"full,omitempty"`
}

// EnqueueDelta queues an incremental sync of a link, outside any other
// transaction (the webhook and tests).
func EnqueueDelta(ctx context.Context, tx *ent.Tx, link gid.ID, full bool) error {
	_, err := outbox.Enqueue(ctx, tx, outbox.Job{Kind: KindDelta, Payload: deltaPayload{LinkID: link, Full: full}})
	return err
}

// runDelta imports the link's changes since its delta link, or the whole
// view for a first sync.
func (s *Sync) runDelta(ctx context.Context, j *outbox.Running) error {
	var p deltaPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.graph == nil {
		return outbox.Permanent(ErrNotConfigured)
	}
	err := s.SyncLink(ctx, p.LinkID, p.Full)
	if err != nil && !msgraph.IsRetryable(err) && msgraph.StatusOf(err) != 0 {
		// 400/403/404 will not heal by retrying a few seconds later; the
		// error stays on the link for admins and the next notification or
		// renewal round tries again.
		return outbox.Permanent(err)
	}
	return err
}

// SyncLink runs one delta round for a link and applies it. Concurrent
// rounds for one link are safe: a round commits only if the link's delta
// link is still the one it started from (a compare-and-swap in the
// database); a round that lost starts over from the winner's link.
func (s *Sync) SyncLink(ctx context.Context, linkID gid.ID, full bool) error {
	for attempt := 0; attempt < 5; attempt++ {
		link, err := s.client.CalendarLink.Get(ctx, linkID)
		if ent.IsNotFound(err) {
			return nil // unlinked meanwhile
		} else if err != nil {
			return err
		}
		won, err := s.syncOnce(ctx, link, full && attempt == 0)
		if err != nil {
			msg := secret.Redact(err.Error()) // admins read it: see fail
			if len(msg) > 1000 {
				msg = msg[:1000]
			}
			uerr := s.client.CalendarLink.UpdateOneID(link.ID).SetLastSyncError(msg).Exec(ctx)
			return errors.Join(err, uerr)
		}
		if won {
			return nil
		}
	}
	return errors.New("calendarsync: delta round kept losing to concurrent rounds")
}

func (s *Sync) syncOnce(ctx context.Context, link *ent.CalendarLink, full bool) (bool, error) {
	loc, err := booking.PractitionerZone(ctx, s.client, link.PractitionerID)
	if err != nil {
		return false, err
	}
	now := s.now()
	startLink := link.DeltaLink
	// A full round also moves the window forward: the delta link covers a
	// fixed view, so once half the horizon has passed it starts afresh.
	if full || (link.WindowEnd != nil && link.WindowEnd.Before(now.Add(s.opts.Horizon/2))) {
		startLink = ""
	}
	req := msgraph.DeltaRequest{User: link.Mailbox, Calendar: link.CalendarID, DeltaLink: startLink,
		Start: now.Add(-24 * time.Hour), End: now.Add(s.opts.Horizon)}
	res, err := s.graph.CalendarViewDelta(ctx, req)
	if msgraph.IsGone(err) && startLink != "" {
		startLink, req.DeltaLink = "", ""
		res, err = s.graph.CalendarViewDelta(ctx, req)
	}
	if err != nil {
		return false, fmt.Errorf("calendar view delta of %s: %w", link.Mailbox, err)
	}
	won := false
	err = database.WithTx(ctx, s.client, func(tx *ent.Tx) error {
		won = false // a retried transaction decides afresh
		u := tx.CalendarLink.Update().Where(calendarlink.ID(link.ID), calendarlink.DeltaLink(link.DeltaLink)).
			SetDeltaLink(res.DeltaLink).SetLastSyncedAt(now).SetLastSyncError("")
		if startLink == "" {
			u.SetWindowEnd(req.End)
		}
		n, err := u.Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		won = true
		return apply(ctx, tx, link.PractitionerID, loc, res.Events, startLink == "")
	})
	return won, err
}

// blockKey is a busy block's external_id: the event id within the
// practitioner, so two practitioners sharing a mailbox stay apart.
func blockKey(prac gid.ID, eventID string) string { return prac.String() + "/" + eventID }

// apply writes a delta round's events as busy blocks. A full round
// replaces the practitioner's blocks: events it did not return are gone.
func apply(ctx context.Context, tx *ent.Tx, prac gid.ID, loc *time.Location, events []msgraph.Event, full bool) error {
	keep := map[string]bool{}
	for _, e := range events {
		key := blockKey(prac, e.ID)
		if len(key) > 255 {
			return fmt.Errorf("event id too long (%d bytes)", len(e.ID))
		}
		start, end, ok := span(e, loc)
		// Events Frontdesk wrote for its own appointments already block
		// their time through the appointment itself.
		ours := strings.HasPrefix(e.TransactionID, "apt_")
		if !e.Blocks() || !ok || ours {
			if err := booking.DropBusyBlock(ctx, tx, Source, key); err != nil {
				return err
			}
			continue
		}
		keep[key] = true
		if err := booking.PutBusyBlock(ctx, tx, prac, Source, booking.BusyBlock{ExternalID: key, Start: start, End: end}); err != nil {
			return err
		}
	}
	if full {
		return booking.KeepBusyBlocks(ctx, tx, prac, Source, keep)
	}
	return nil
}

// span is the time an event blocks. All-day events are floating dates:
// they block whole days in the practitioner's zone, whatever zone Graph
// wrote them in.
func span(e msgraph.Event, loc *time.Location) (time.Time, time.Time, bool) {
	if e.Start == nil || e.End == nil {
		return time.Time{}, time.Time{}, false
	}
	if e.IsAllDay {
		a, err1 := time.ParseInLocation(time.DateOnly, prefix(e.Start.DateTime, 10), loc)
		b, err2 := time.ParseInLocation(time.DateOnly, prefix(e.End.DateTime, 10), loc)
		if err1 != nil || err2 != nil || !a.Before(b) {
			return time.Time{}, time.Time{}, false
		}
		return a.UTC(), b.UTC(), true
	}
	a, err1 := e.Start.Time()
	b, err2 := e.End.Time()
	if err1 != nil || err2 != nil || !a.Before(b) {
		return time.Time{}, time.Time{}, false
	}
	return a.UTC().Truncate(time.Microsecond), b.UTC().Truncate(time.Microsecond), true
}

func prefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}
