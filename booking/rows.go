package booking

import (
	"context"
	"database/sql"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"frontdesk/database"
	"frontdesk/ent/appointment"
	"frontdesk/ent/predicate"
	"frontdesk/ent/weeklyhours"
	"frontdesk/gid"
)

// The two big reads of an availability question (appointments and weekly
// hours: hundreds of rows) skip ent's entity scan, which allocates a
// struct and a holder per column for every row and was half the CPU of a
// call. They reuse ent's generated predicates on a plain selector (the
// same SQL ent would run; backtick quoting suits MySQL and SQLite alike)
// and scan each row into a few reused variables.

// rowQuerier is the raw-query entry point ent generates (FeatureExecQuery)
// for clients and transactions; it needs a database/sql based driver, as
// every store Frontdesk opens has (and the tests' query counter passes it
// through).
type rowQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readAppointments streams the appointments matching where to fn: their
// practitioner and service IDs (valid only during the call), their
// blocked span, start and hold expiry as apptRow fields, and their start.
func readAppointments(ctx context.Context, db rowQuerier, where []predicate.Appointment,
	fn func(pid, service []byte, r apptRow, start time.Time),
) error {
	sel := entsql.Select(appointment.FieldPractitionerID, appointment.FieldServiceID).From(entsql.Table(appointment.Table))
	// The times are selected as +column: a no-op in both dialects that
	// hides the column's declared type from SQLite, whose driver would
	// otherwise parse each value by trying one layout after another (a
	// third of this read's CPU); database.Time parses SQLite's one layout
	// directly. MySQL's driver still hands over time.Time values.
	for _, f := range []string{appointment.FieldStartAt, appointment.FieldBlockedStart, appointment.FieldBlockedEnd,
		appointment.FieldHoldExpiresAt} {
		sel.AppendSelectExpr(entsql.Expr("+`" + f + "`"))
	}
	for _, p := range where {
		p(sel)
	}
	query, args := sel.Query()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		pid, svc            sql.RawBytes
		start, bStart, bEnd database.Time
		expires             nullTime
	)
	for rows.Next() {
		if err := rows.Scan(&pid, &svc, &start, &bStart, &bEnd, &expires); err != nil {
			return err
		}
		r := apptRow{blockedStart: bStart.T.Unix(), blockedEnd: bEnd.T.Unix(), start: start.T.Unix()}
		if expires.valid {
			r.holdExpires = expires.t.T.UnixMicro()
		}
		fn(pid, svc, r, start.T)
	}
	return rows.Err()
}

// nullTime scans a nullable time the way database.Time scans a time.
type nullTime struct {
	t     database.Time
	valid bool
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(src any) error {
	if n.valid = src != nil; !n.valid {
		return nil
	}
	return n.t.Scan(src)
}

// readWeeklyHours adds the weekly hours of the calendars in byID.
func readWeeklyHours(ctx context.Context, db rowQuerier, byID map[gid.ID]*calData, ids []gid.ID) error {
	sel := entsql.Select(weeklyhours.FieldPractitionerID, weeklyhours.FieldWeekday, weeklyhours.FieldStartMinute,
		weeklyhours.FieldEndMinute).From(entsql.Table(weeklyhours.Table))
	weeklyhours.PractitionerIDIn(ids...)(sel)
	query, args := sel.Query()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		pid                 sql.RawBytes
		weekday, start, end int
	)
	for rows.Next() {
		if err := rows.Scan(&pid, &weekday, &start, &end); err != nil {
			return err
		}
		c := byID[gid.ID(pid)]
		if c == nil || weekday < 0 || weekday > 6 {
			continue
		}
		c.weekly[weekday] = append(c.weekly[weekday], MinuteRange{start, end})
	}
	return rows.Err()
}
