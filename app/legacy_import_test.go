package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"frontdesk/gid"
)

// TestLegacyShopCustomerSignsIn: a customer row imported the way
// docs/authentication.md shows, with the bcrypt hash PHP's password_hash
// stored, signs in through GraphQL with the old password; the hash is
// argon2id afterwards.
func TestLegacyShopCustomerSignsIn(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	_, err := s.app.DB.SQL.ExecContext(ctx, `INSERT INTO users (id, created_at, updated_at, email, name, role, password_hash, email_verified_at)
VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`, "usr_01JDV6Q7ZK3M4X9V2S8T5R1W0P", time.Date(2019, 3, 2, 10, 0, 0, 0, time.UTC), time.Now().UTC(),
		"ann@example.com", "Ann Lee", "CUSTOMER", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a")
	if err != nil {
		t.Fatal(err)
	}
	r := s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": "ann@example.com", "password": "not it at all"}})
	if ue, _ := field(r, "signIn.userErrors").([]any); len(ue) != 1 {
		t.Fatalf("wrong password: %v %+v", r.Data, r.Errors)
	}
	r = s.gqlAs(t, signInOp, map[string]any{"in": map[string]any{"email": "Ann@Example.com", "password": "rasmuslerdorf"}})
	if field(r, "signIn.user.id") != "usr_01JDV6Q7ZK3M4X9V2S8T5R1W0P" || field(r, "signIn.token") == nil {
		t.Fatalf("sign in with the legacy password: %v %+v", r.Data, r.Errors)
	}
	u := s.app.DB.Client.User.GetX(ctx, gid.ID("usr_01JDV6Q7ZK3M4X9V2S8T5R1W0P"))
	if !strings.HasPrefix(*u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash after sign-in: %.12s…, want argon2id", *u.PasswordHash)
	}
}
