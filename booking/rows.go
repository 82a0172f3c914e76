package booking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

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
	// third of this read's CPU); scanTime parses SQLite's one layout
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
		start, bStart, bEnd scanTime
	)
	for rows.Next() {
		if err := rows.Scan(&pid, &same, &start, &bStart, &bEnd); err != nil {
			return err
		}
		r.start, r.blockedStart, r.blockedEnd = start.t, bStart.t, bEnd.t
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

// scanTime scans a time column: a time.Time from drivers that parse
// times themselves (MySQL), or SQLite's text, which it parses without
// trying layouts when it is in the layout Frontdesk writes
// (database.Open's _time_format=sqlite: 2006-01-02 15:04:05.999999999-07:00).
type scanTime struct{ t time.Time }

// sqliteTimeLayouts are the other layouts the SQLite driver reads, tried
// in its order when the fast parse does not apply.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// Scan implements sql.Scanner.
func (s *scanTime) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case time.Time:
		s.t = v
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("scan time: unsupported %T", src)
	}
	if t, ok := parseSQLiteTime(text); ok {
		s.t = t
		return nil
	}
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, strings.TrimSuffix(text, "Z")); err == nil {
			s.t = t
			return nil
		}
	}
	return fmt.Errorf("scan time: %q is in no known layout", text)
}

// parseSQLiteTime parses YYYY-MM-DD HH:MM:SS, optionally followed by a
// fraction of up to nine digits and by Z or ±HH:MM (UTC without one), as
// time.Parse would, without its layout machinery.
func parseSQLiteTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	h, ok4 := num(s[11:13])
	mi, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest, nanos := s[19:], 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 || i > 10 {
			return time.Time{}, false
		}
		nanos, _ = num(rest[1:i])
		for k := i; k < 10; k++ {
			nanos *= 10
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 24 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	unix := civilDay(y, time.Month(mo), d)*secondsPerDay + int64(h*3600+mi*60+sec-offset)
	return time.Unix(unix, int64(nanos)).UTC(), true
}

// daysIn returns the number of days of month m of year y.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
