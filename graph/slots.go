package graph

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/booking"
	"frontdesk/ent"
)

// availableSlots returns thousands of slots. Through gqlgen's per-field
// execution each slot cost a field set, a deferred group and, for each of
// start, end and practitioner and every field under it, a field context,
// a path and the middleware chain: about 90 allocations a slot and half of
// the request's CPU. A slot is plain data and its practitioner one of a
// handful, so marshalSlots (which internal/gqlgenrun puts in place of the
// generated call) writes the list into one buffer: the collected slot
// fields (fragments, aliases, @skip and @include resolved by gqlgen's own
// CollectFields), each time formatted as gqlgen's Time scalar does, and
// each distinct practitioner rendered once by the generated code, through
// the whole field middleware, view rules included, then copied into every
// slot that names it.
//
// Whatever the fast path cannot write exactly as the generic executor
// would, it leaves to the generic executor, which then answers as before:
// a field it does not know, @defer, a nil slot, practitioner or time, a
// practitioner that renders to null or with an error (a refusing view
// rule, a failing edge resolver), a cancelled request.

// slotsFastPath switches marshalSlots' fast path; tests turn it off to
// compare with the generic executor.
var slotsFastPath atomic.Bool

func init() { slotsFastPath.Store(true) }

// marshalSlots marshals availableSlots' list.
func (ec *executionContext) marshalSlots(ctx context.Context, sel ast.SelectionSet, v []*booking.OfferedSlot) graphql.Marshaler {
	if slotsFastPath.Load() {
		if b, ok := ec.writeSlots(ctx, sel, v); ok {
			return rawJSON(b)
		}
	}
	return ec.marshalNSlot2ᚕᚖfrontdeskᚋbookingᚐOfferedSlotᚄ(ctx, sel, v)
}

// rawJSON is a response fragment written ahead.
type rawJSON []byte

// MarshalGQL implements graphql.Marshaler; like gqlgen's own writers it
// leaves write errors to the response writer.
func (r rawJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(r) }

// slotColumn is one collected field of Slot: its kind, its key as written
// (the alias, quoted, and a colon) and, for practitioner, the rendering
// of each distinct practitioner.
type slotColumn struct {
	kind  slotField
	key   []byte
	field graphql.CollectedField
	// rendered holds each practitioner's JSON, by the practitioner the
	// resolver attached (one pointer per practitioner in a response).
	rendered map[*ent.Practitioner][]byte
}

type slotField int

const (
	slotTypename slotField = iota
	slotStart
	slotEnd
	slotPractitioner
)

// writeSlots writes the list as the generic executor would, or reports
// false when it cannot be sure to.
func (ec *executionContext) writeSlots(ctx context.Context, sel ast.SelectionSet, v []*booking.OfferedSlot) ([]byte, bool) {
	if hasDefer(sel) {
		return nil, false
	}
	fields := graphql.CollectFields(ec.OperationContext, sel, slotImplementors)
	cols := make([]slotColumn, 0, len(fields))
	written := map[string]bool{}
	for _, f := range fields {
		if written[f.Alias] {
			continue // marshalFieldSet writes the first field of an alias only
		}
		written[f.Alias] = true
		var key bytes.Buffer
		graphql.MarshalString(f.Alias).MarshalGQL(&key)
		key.WriteByte(':')
		c := slotColumn{key: key.Bytes(), field: f}
		switch f.Name {
		case "__typename":
			c.kind = slotTypename
		case "start":
			c.kind = slotStart
		case "end":
			c.kind = slotEnd
		case "practitioner":
			c.kind, c.rendered = slotPractitioner, map[*ent.Practitioner][]byte{}
		default:
			return nil, false
		}
		cols = append(cols, c)
	}
	// The buffer is sized for the longest slot, so it never grows: a
	// whole-second time is 27 bytes quoted, one with nanoseconds 37 at
	// most.
	timeLen := len(`"2006-01-02T15:04:05+07:00"`)
	for i, s := range v {
		if s == nil || s.Practitioner == nil || s.Start.IsZero() || s.End.IsZero() {
			return nil, false
		}
		if s.Start.Nanosecond() != 0 || s.End.Nanosecond() != 0 {
			timeLen = len(`"2006-01-02T15:04:05.999999999+07:00"`)
		}
		for k := range cols {
			c := &cols[k]
			if c.kind != slotPractitioner {
				continue
			}
			if _, ok := c.rendered[s.Practitioner]; ok {
				continue
			}
			b, ok := ec.renderSlotPractitioner(ctx, c.field, v, i)
			if !ok {
				return nil, false
			}
			c.rendered[s.Practitioner] = b
		}
	}
	if ctx.Err() != nil {
		return nil, false
	}
	perSlot := 2 + 1 // braces and the comma after the slot
	for k := range cols {
		c := &cols[k]
		perSlot += len(c.key) + 1
		switch c.kind {
		case slotTypename:
			perSlot += len(`"Slot"`)
		case slotStart, slotEnd:
			perSlot += timeLen
		case slotPractitioner:
			longest := 0
			for _, b := range c.rendered {
				longest = max(longest, len(b))
			}
			perSlot += longest
		}
	}
	buf := make([]byte, 0, 2+len(v)*perSlot)
	buf = append(buf, '[')
	var tw timeWriter
	for i, s := range v {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for k := range cols {
			c := &cols[k]
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, c.key...)
			switch c.kind {
			case slotTypename:
				buf = append(buf, `"Slot"`...)
			case slotStart:
				buf = tw.appendQuoted(buf, s.Start)
			case slotEnd:
				buf = tw.appendQuoted(buf, s.End)
			case slotPractitioner:
				buf = append(buf, c.rendered[s.Practitioner]...)
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), true
}

// renderSlotPractitioner renders the practitioner of v[i] the way the
// generic executor renders it inside that slot: the same field contexts
// (the list index, then Slot.practitioner) and the whole field middleware,
// so the view rule of Practitioner is asked here, once per distinct
// practitioner. Errors go to a response context of their own: any error,
// or a null, sends the whole list to the generic executor, which then
// reports them at every slot as before.
func (ec *executionContext) renderSlotPractitioner(ctx context.Context, field graphql.CollectedField,
	v []*booking.OfferedSlot, i int,
) ([]byte, bool) {
	ctx = graphql.WithFreshResponseContext(ctx)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i, Result: &v[i]})
	m := ec._Slot_practitioner(ctx, field, v[i])
	if m == nil || m == graphql.Null || len(graphql.GetErrors(ctx)) > 0 {
		return nil, false
	}
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.Bytes(), true
}

// hasDefer reports whether a selection set defers anything, at any depth:
// deferred fields are delivered apart, which only the generic executor
// does.
func hasDefer(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.Directives.ForName("defer") != nil || hasDefer(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if s.Directives.ForName("defer") != nil || hasDefer(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Directives.ForName("defer") != nil || (s.Definition != nil && hasDefer(s.Definition.SelectionSet)) {
				return true
			}
		}
	}
	return false
}

// timeWriter formats times as gqlgen's Time scalar does (RFC 3339 with
// nanoseconds when there are any, quoted), fast for the common case of
// whole seconds: the date and the zone offset are formatted once per
// local day and zone period, the clock from the seconds since local
// midnight.
type timeWriter struct {
	loc      *time.Location
	lo, hi   int64 // [lo, hi): Unix seconds with this date and offset
	midnight int64 // Unix second of the local midnight at this offset
	date     []byte
	zone     []byte
}

func (w *timeWriter) appendQuoted(b []byte, t time.Time) []byte {
	b = append(b, '"')
	u := t.Unix()
	switch {
	case t.Nanosecond() != 0:
		b = t.AppendFormat(b, time.RFC3339Nano)
	default:
		if t.Location() != w.loc || u < w.lo || u >= w.hi {
			w.reset(t)
		}
		s := u - w.midnight
		b = append(b, w.date...)
		b = appendTwo(b, s/3600)
		b = append(b, ':')
		b = appendTwo(b, s/60%60)
		b = append(b, ':')
		b = appendTwo(b, s%60)
		b = append(b, w.zone...)
	}
	return append(b, '"')
}

func (w *timeWriter) reset(t time.Time) {
	y, m, d := t.Date()
	_, off := t.Zone()
	w.loc = t.Location()
	w.midnight = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - int64(off)
	w.lo, w.hi = w.midnight, w.midnight+86400
	if start, end := t.ZoneBounds(); !start.IsZero() || !end.IsZero() {
		if !start.IsZero() {
			w.lo = max(w.lo, start.Unix())
		}
		if !end.IsZero() {
			w.hi = min(w.hi, end.Unix())
		}
	}
	w.date = t.AppendFormat(w.date[:0], "2006-01-02T")
	w.zone = t.AppendFormat(w.zone[:0], "Z07:00")
}

func appendTwo(b []byte, n int64) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}
