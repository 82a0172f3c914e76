package graph

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"frontdesk/booking"
	"frontdesk/calendarsync"
	"frontdesk/catalog"
	"frontdesk/commerce"
	"frontdesk/ehrsync"
	"frontdesk/ent"
	"frontdesk/identity"
	"frontdesk/notify"
	"frontdesk/outbox"
	"frontdesk/webhooks"
)

// This file is the one place reads are authorized. Every domain declares a
// view rule per type it shows (identity.ViewRule, in the domain's
// ViewRules); NewSchema collects them into one registry and returns a
// schema whose every field goes through authorize: an object of a ruled
// type that any field returns (a query, node/nodes, an edge, a connection's
// node, a payload, a subscription event, a webhook payload) reaches the
// client only if its rule lets the viewer see it. A type the schema can
// return without a rule stops the server at start-up.

// carriers are the object types without a rule of their own: containers
// and values whose every field is either derived from the object that
// holds them or returns a ruled type, and the objects a resolver hands out
// only after checking a capability (a cart by its token). The suffixes
// Connection, Edge and Payload are carriers by construction. cacheable
// says whether the catalog's response cache may keep them.
var carriers = map[string]struct{ cacheable bool }{
	"Query": {true}, "Mutation": {}, "Subscription": {},
	"PageInfo": {true}, "Money": {true}, "PriceRange": {true}, "SelectedOption": {true}, "ImageRendition": {true},
	"ProductConnection": {true}, "ProductEdge": {true},
	"UserError": {}, "Address": {}, "Totals": {},
	// A cart is shown only to whoever holds its token (commerce checks it).
	"Cart": {}, "CartLine": {}, "PaymentIntent": {}, "ProductImageUpload": {},
	// Values computed for the caller by a domain function that checked
	// the action (Require) or shows only public data.
	"Slot": {}, "AvailabilityChange": {}, "JobCounts": {}, "CalendarSyncStatus": {},
	"IntakeField": {}, "IntakeAnswer": {}, "OrderStatusChange": {}, "WebhookEvent": {},
}

func isCarrier(name string) bool {
	_, ok := carriers[name]
	return ok || strings.HasSuffix(name, "Connection") || strings.HasSuffix(name, "Edge") || strings.HasSuffix(name, "Payload")
}

// graphqlNames maps the Go names of ruled types whose GraphQL type is
// spelt differently.
var graphqlNames = map[string]string{"APIKey": "ApiKey"}

// viewRules is the registry: every domain's rules.
func (r *Resolver) viewRules() ([]identity.ViewRule, error) {
	if r.Client == nil || r.Catalog == nil {
		return nil, errors.New("graph: the resolver needs Client and Catalog to build the view rules")
	}
	return allViewRules(r.Client, r.Catalog), nil
}

func allViewRules(client *ent.Client, cat *catalog.Service) []identity.ViewRule {
	var all []identity.ViewRule
	for _, rules := range [][]identity.ViewRule{
		identity.ViewRules(client), cat.ViewRules(), commerce.ViewRules(client), booking.ViewRules(client),
		outbox.ViewRules(), notify.ViewRules(), calendarsync.ViewRules(), ehrsync.ViewRules(), webhooks.ViewRules(client),
	} {
		all = append(all, rules...)
	}
	return all
}

// viewRule is a rule in the registry.
type viewRule struct {
	identity.ViewRule
	name string // the GraphQL type
}

// fieldCheck is what authorize does for one field that returns a ruled
// type.
type fieldCheck struct {
	// stream: a subscription field; its events are filtered.
	stream bool
	// nullableItems: a list whose items may be null (nodes): a hidden
	// item is nulled with NOT_FOUND at its index.
	nullableItems bool
}

// views is the registry applied: the rules by Go type, the fields to
// check, and the types the response cache may keep.
type views struct {
	byType    map[reflect.Type]*viewRule
	fields    map[*ast.FieldDefinition]fieldCheck
	cacheable map[string]bool
}

// newViews checks the rules against the schema and precomputes which
// fields return a type that needs checking: public types, and children
// returned by their parent's edge, cost nothing.
func newViews(schema *ast.Schema, rules []identity.ViewRule) (*views, error) {
	v := &views{byType: map[reflect.Type]*viewRule{}, fields: map[*ast.FieldDefinition]fieldCheck{}, cacheable: map[string]bool{}}
	byName := map[string]*viewRule{}
	for _, r := range rules {
		if r.Type == nil || r.Type.Kind() != reflect.Pointer {
			return nil, fmt.Errorf("a view rule has no pointer type: %+v", r)
		}
		name := r.Type.Elem().Name()
		if n, ok := graphqlNames[name]; ok {
			name = n
		}
		def := schema.Types[name]
		if def == nil || def.Kind != ast.Object {
			return nil, fmt.Errorf("the view rule for %s names no object type of the schema", r.Type)
		}
		if byName[name] != nil {
			return nil, fmt.Errorf("two view rules for %s", name)
		}
		if isCarrier(name) {
			return nil, fmt.Errorf("%s has a view rule and is listed as a carrier", name)
		}
		if r.Parent != "" && schema.Types[r.Parent] == nil {
			return nil, fmt.Errorf("the view rule for %s inherits from %s, which is not a type", name, r.Parent)
		}
		vr := &viewRule{ViewRule: r, name: name}
		byName[name], v.byType[r.Type] = vr, vr
		v.cacheable[name] = r.Cacheable
	}
	var missing []string
	for name, def := range schema.Types {
		if def.Kind != ast.Object || def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if byName[name] == nil {
			if !isCarrier(name) {
				missing = append(missing, name)
			}
			v.cacheable[name] = carriers[name].cacheable
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("the schema can return %s without a view rule: add one to the owning domain's ViewRules (or, for a container or value type, to graph's carriers)", strings.Join(missing, ", "))
	}
	for _, def := range schema.Types {
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			continue
		}
		for _, f := range def.Fields {
			if needsCheck(schema, byName, def.Name, f.Type.Name()) {
				v.fields[f] = fieldCheck{
					stream:        def.Name == "Subscription",
					nullableItems: f.Type.Elem != nil && !f.Type.Elem.NonNull,
				}
			}
		}
	}
	return v, nil
}

// needsCheck reports whether a field of owner returning the named type
// must ask a rule: the type (or one that may stand for it, for an
// interface or union) has a rule that is not public and not inherited
// from owner.
func needsCheck(schema *ast.Schema, byName map[string]*viewRule, owner, typ string) bool {
	def := schema.Types[typ]
	if def == nil {
		return false
	}
	switch def.Kind {
	case ast.Object:
		r := byName[typ]
		return r != nil && r.Can != nil && r.Parent != owner
	case ast.Interface, ast.Union:
		for _, p := range schema.GetPossibleTypes(def) {
			if needsCheck(schema, byName, owner, p.Name) {
				return true
			}
		}
	}
	return false
}

// errHidden is returned for an object the viewer may not see; missing and
// hidden look the same, as for node(id:).
var errHidden = errNodeNotFound

// checks reports whether the field being resolved at ctx returns a type
// whose rule authorize must ask.
func (v *views) checks(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return false
	}
	_, ok := v.fields[fc.Field.Definition]
	return ok
}

// authorize is the field middleware. Fields that return no ruled type
// (every scalar) cost one map lookup.
func (v *views) authorize(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return next(ctx)
	}
	check, ok := v.fields[fc.Field.Definition]
	if !ok {
		return next(ctx)
	}
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	if check.stream {
		return v.stream(ctx, res), nil
	}
	rv := reflect.ValueOf(res)
	if rv.Kind() != reflect.Slice {
		if !v.visible(ctx, res) {
			return nil, errHidden
		}
		return res, nil
	}
	var out reflect.Value
	for i := range rv.Len() {
		if v.visible(ctx, rv.Index(i).Interface()) {
			continue
		}
		if !check.nullableItems {
			return nil, errHidden
		}
		if !out.IsValid() {
			out = reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
			reflect.Copy(out, rv)
		}
		out.Index(i).SetZero()
		graphql.AddError(graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i)), errHidden)
	}
	if out.IsValid() {
		return out.Interface(), nil
	}
	return res, nil
}

// visible applies obj's rule. Nothing is visible: nil. An object of a type
// without a rule is hidden (it can only come through an interface).
func (v *views) visible(ctx context.Context, obj any) bool {
	if obj == nil {
		return true
	}
	t := reflect.TypeOf(obj)
	if t.Kind() == reflect.Pointer && reflect.ValueOf(obj).IsNil() {
		return true
	}
	r := v.byType[t]
	if r == nil {
		return false
	}
	return r.Can == nil || r.Can(ctx, obj)
}

// stream filters a subscription's channel: an event the viewer may not
// see is dropped. The copy ends when the source closes or ctx ends.
func (v *views) stream(ctx context.Context, res any) any {
	src := reflect.ValueOf(res)
	if src.Kind() != reflect.Chan {
		return res
	}
	out := reflect.MakeChan(reflect.ChanOf(reflect.BothDir, src.Type().Elem()), 1)
	done := reflect.ValueOf(ctx.Done())
	go func() {
		defer out.Close()
		for {
			chosen, ev, ok := reflect.Select([]reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: src}, {Dir: reflect.SelectRecv, Chan: done}})
			if chosen == 1 || !ok {
				return
			}
			if !v.visible(ctx, ev.Interface()) {
				continue
			}
			if chosen, _, _ := reflect.Select([]reflect.SelectCase{{Dir: reflect.SelectSend, Chan: out, Send: ev}, {Dir: reflect.SelectRecv, Chan: done}}); chosen == 1 {
				return
			}
		}
	}()
	return out.Convert(src.Type()).Interface()
}

// Schema is the executable schema with the view rules applied to every
// field of every operation run on it.
type Schema struct {
	graphql.ExecutableSchema
	views *views
}

// NewSchema builds the executable schema over r with every domain's view
// rules. It fails when a type the schema can return has no rule.
func NewSchema(r *Resolver) (*Schema, error) {
	rules, err := r.viewRules()
	if err != nil {
		return nil, err
	}
	v, err := newViews(parsedSchema, rules)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return &Schema{ExecutableSchema: NewExecutableSchema(Config{Resolvers: r}), views: v}, nil
}

// Exec implements graphql.ExecutableSchema: the operation's field
// middleware gets authorize as its innermost step (it sees what the
// resolver returned), and the operation a fresh set of grants.
func (s *Schema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	inner := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		if !s.views.checks(ctx) {
			// Most fields (every scalar, public and inherited types): no
			// closure around next.
			return inner(ctx, next)
		}
		return inner(ctx, func(ctx context.Context) (any, error) { return s.views.authorize(ctx, next) })
	}
	g := &identity.Grants{}
	h := s.ExecutableSchema.Exec(identity.WithGrants(ctx, g))
	// The rules go along for the listing writer (listing.go), which
	// must know the fields they check.
	return func(ctx context.Context) *graphql.Response { return h(withViews(identity.WithGrants(ctx, g), s.views)) }
}

// Cacheable reports whether the catalog's response cache may keep a
// response that shows an object of the GraphQL type name.
func (s *Schema) Cacheable(name string) bool { return s != nil && s.views.cacheable[name] }
