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

// busyRow is one appointment as the availability engine sees it.
type busyRow struct {
	practitioner             *Calendar
	sameService              bool
	start                    time.Time
	blockedStart, blockedEnd time.Time
}

// readAppointments streams the appointments matching where to fn: their
// practitioner's calendar (from byID), whether they are of serviceID,
// their start and their blocked span.
func readAppointments(ctx context.Context, db rowQuerier, byID map[gid.ID]*Calendar, serviceID gid.ID,
	where []predicate.Appointment, fn func(busyRow),
) error {
	sel := entsql.Select(appointment.FieldPractitionerID).From(entsql.Table(appointment.Table))
	sel.AppendSelectExpr(entsql.ExprP("`"+appointment.FieldServiceID+"` = ?", serviceID))
	// The times are selected as +column: a no-op in both dialects that
	// hides the column's declared type from SQLite, whose driver would
	// otherwise parse each value by trying one layout after another (a
	// third of this read's CPU); database.Time parses SQLite's one layout
	// directly. MySQL's driver still hands over time.Time values.
	for _, f := range []string{appointment.FieldStartAt, appointment.FieldBlockedStart, appointment.FieldBlockedEnd} {
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
		pid                 sql.RawBytes
		same                bool
		r                   busyRow
		start, bStart, bEnd database.Time
	)
	for rows.Next() {
		if err := rows.Scan(&pid, &same, &start, &bStart, &bEnd); err != nil {
			return err
		}
		r.start, r.blockedStart, r.blockedEnd = start.T, bStart.T, bEnd.T
		if r.practitioner = byID[gid.ID(pid)]; r.practitioner == nil {
			continue
		}
		r.sameService = same
		fn(r)
	}
	return rows.Err()
}

// readWeeklyHours adds the weekly hours of the calendars in byID.
func readWeeklyHours(ctx context.Context, db rowQuerier, byID map[gid.ID]*Calendar, ids []gid.ID) error {
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
		c.Weekly[weekday] = append(c.Weekly[weekday], MinuteRange{start, end})
	}
	return rows.Err()
}
