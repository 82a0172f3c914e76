package identity

import (
	"strings"
	"testing"

	"frontdesk/errcode"
)

var fastParams = HashParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery", fastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not record its parameters", h)
	}
	h2, _ := HashPassword("correct horse battery", fastParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		name      string
		password  string
		params    HashParams
		ok, stale bool
	}{
		{"right", "correct horse battery", fastParams, true, false},
		{"wrong", "correct horse batterz", fastParams, false, false},
		{"raised parameters", "correct horse battery", DefaultHashParams, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, stale, err := VerifyPassword(tt.password, h, tt.params)
			if err != nil || ok != tt.ok || stale != tt.stale {
				t.Fatalf("VerifyPassword = %v, %v, %v; want %v, %v", ok, stale, err, tt.ok, tt.stale)
			}
		})
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "plain"} {
		if _, _, err := VerifyPassword("x", bad, fastParams); err == nil {
			t.Errorf("VerifyPassword accepted malformed hash %q", bad)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		password string
		want     errcode.UserErrorCode
	}{
		{"short", errcode.Invalid},
		{"Password123", errcode.Invalid}, // common, case-insensitively
		{"qwertyuiop", errcode.Invalid},
		{strings.Repeat("x", MaxPasswordLen+1), errcode.TooLong},
		{"a long and uncommon passphrase", ""},
	}
	for _, tt := range tests {
		err := CheckPasswordPolicy(tt.password, "password")
		var got errcode.UserErrorCode
		if list, ok := errcode.AsUserErrors(err); ok {
			got = list[0].Code
		}
		if got != tt.want {
			t.Errorf("CheckPasswordPolicy(%.20q) = %v, want %q", tt.password, err, tt.want)
		}
	}
}
