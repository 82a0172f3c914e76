package identity

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
)

type noMail struct{}

func (noMail) Send(context.Context, Message) error { return nil }

// work counts the argon2id and bcrypt computations of the checks run
// while it is installed.
type work struct{ argon2, bcrypt int }

func countWork(t *testing.T) *work {
	w := &work{}
	a, b := argon2Key, bcryptCompare
	argon2Key = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		w.argon2++
		return a(password, salt, time, memory, threads, keyLen)
	}
	bcryptCompare = func(hash, password []byte) error { w.bcrypt++; return b(hash, password) }
	t.Cleanup(func() { argon2Key, bcryptCompare = a, b })
	return w
}

func legacyService(t *testing.T, client *ent.Client) *Service {
	t.Helper()
	s, err := New(client, cache.NewMemory(), noMail{}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{Hash: fastParams, AccountAttempts: 1000, IPAttempts: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignInCostsTheSameForEveryEmail: once accounts with legacy bcrypt
// hashes exist, a sign-in does one argon2id and one bcrypt computation
// whether the email is unknown, has an argon2id hash or a bcrypt one, so
// its time tells nothing about which emails have accounts.
func TestSignInCostsTheSameForEveryEmail(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	ctx := WithClient(context.Background(), Client{IP: "10.0.0.9"})
	current, err := HashPassword("a current passphrase", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	db.Client.User.Create().SetEmail("current@example.com").SetPasswordHash(current).ExecX(ctx)

	// No legacy hashes: no bcrypt work at all.
	s := legacyService(t, db.Client)
	w := countWork(t)
	for _, email := range []string{"nobody@example.com", "current@example.com"} {
		*w = work{}
		if _, err := s.SignIn(ctx, email, "wrong password"); err != ErrInvalidCredentials {
			t.Fatalf("%s: %v", email, err)
		}
		if *w != (work{argon2: 1}) {
			t.Fatalf("%s without legacy hashes: %+v, want one argon2id", email, *w)
		}
	}

	// A customer imported from the legacy shop while this service runs:
	// its first check starts the padding.
	db.Client.User.Create().SetEmail("legacy@example.com").SetPasswordHash(legacyVectors[4].hash).ExecX(ctx)
	check := func(s *Service) {
		t.Helper()
		for _, email := range []string{"legacy@example.com", "nobody@example.com", "current@example.com", "legacy@example.com"} {
			*w = work{}
			if _, err := s.SignIn(ctx, email, "wrong password"); err != ErrInvalidCredentials {
				t.Fatalf("%s: %v", email, err)
			}
			if *w != (work{argon2: 1, bcrypt: 1}) {
				t.Fatalf("%s with legacy hashes: %+v, want one argon2id and one bcrypt", email, *w)
			}
		}
	}
	check(s)
	// A service started after the import pads from the first sign-in.
	check(legacyService(t, db.Client))
}
