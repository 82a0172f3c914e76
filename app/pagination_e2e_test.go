package app_test

import (
	"fmt"
	"strings"
	"testing"

	"frontdesk/config"
)

// TestEveryConnectionGetsTheDefaultPageSize sets FRONTDESK_DEFAULT_PAGE_SIZE
// to 2, makes more than two users, API keys and audit entries, then asks
// the running server (by introspection) for every root connection and
// queries each one that needs no argument without first or last, as an
// admin. Every page holds at most 2 edges; users, apiKeys and auditLog,
// which once returned their whole table, hold exactly 2 with a next page.
func TestEveryConnectionGetsTheDefaultPageSize(t *testing.T) {
	s := start(t, func(c *config.Config) { c.DefaultPageSize = 2 })
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	for i := range 3 {
		s.signUp(t, fmt.Sprintf("user%d@example.com", i), "")
		s.ok(t, `mutation($n: String!) { createApiKey(input: {name: $n, scopes: [MANAGE_ORDERS]}) { token userErrors { code } } }`,
			map[string]any{"n": fmt.Sprintf("key %d", i)}, bearer(admin.token)...)
	}

	r := s.gqlAs(t, `{ __schema { queryType { fields { name
		args { name defaultValue type { kind } }
		type { kind name ofType { kind name } } } } } }`, nil)
	fields, _ := field(r, "__schema.queryType.fields").([]any)
	tested := map[string]bool{}
	for _, f := range fields {
		f := f.(map[string]any)
		typ := f["type"].(map[string]any)
		if typ["kind"] == "NON_NULL" {
			typ = typ["ofType"].(map[string]any)
		}
		name, _ := typ["name"].(string)
		if typ["kind"] != "OBJECT" || !strings.HasSuffix(name, "Connection") {
			continue
		}
		required := false
		for _, a := range f["args"].([]any) {
			a := a.(map[string]any)
			if a["type"].(map[string]any)["kind"] == "NON_NULL" && a["defaultValue"] == nil {
				required = true
			}
		}
		if required {
			continue
		}
		fname := f["name"].(string)
		r := s.gqlAs(t, `{ `+fname+` { edges { cursor } pageInfo { hasNextPage } } }`, nil, bearer(admin.token)...)
		if len(r.Errors) > 0 {
			t.Errorf("%s: %+v", fname, r.Errors)
			continue
		}
		edges, _ := field(r, fname+".edges").([]any)
		if len(edges) > 2 {
			t.Errorf("%s without first returned %d edges, want at most the default 2", fname, len(edges))
		}
		tested[fname] = true
	}
	for _, fname := range []string{"users", "apiKeys", "auditLog"} {
		if !tested[fname] {
			t.Errorf("%s was not found among the connections", fname)
			continue
		}
		r := s.gqlAs(t, `{ `+fname+` { totalCount edges { cursor } pageInfo { hasNextPage } } }`, nil, bearer(admin.token)...)
		edges, _ := field(r, fname+".edges").([]any)
		if total, _ := field(r, fname+".totalCount").(float64); len(edges) != 2 || total < 3 || field(r, fname+".pageInfo.hasNextPage") != true {
			t.Errorf("%s: %d edges of %v, hasNextPage %v; want 2 of more than 2", fname, len(edges), total, field(r, fname+".pageInfo.hasNextPage"))
		}
	}
	if len(tested) < 8 {
		t.Errorf("only %d connections were queried: %v", len(tested), tested)
	}
}
