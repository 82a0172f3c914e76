package identity

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

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

// legacyVectors are bcrypt hashes as the legacy PHP shop stores them. The
// first two are the examples in PHP's manual (password_hash and crypt);
// the rest were made with libxcrypt's crypt(3), which is crypt_blowfish,
// the implementation PHP uses, and one is from its own test vectors.
var legacyVectors = []struct{ password, hash string }{
	{"rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"},
	{"rasmuslerdorf", "$2y$07$usesomesillystringfore2uDLvp1Ii2e./U9C8sBjqp8I90dH6hi"},
	{"pässwörd long enough", "$2y$04$abcdefghijklmnopqrstuur8ASWYLZOxlUvJClw98esg/az47zBeO"},
	{"pässwörd long enough", "$2a$04$abcdefghijklmnopqrstuur8ASWYLZOxlUvJClw98esg/az47zBeO"},
	{"correct horse battery", "$2b$10$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2"},
	{"correct horse battery", "$2a$10$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2"},
	{"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	// Like PHP, only the first 72 bytes count.
	{strings.Repeat("x", 72), "$2y$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i"},
	{strings.Repeat("x", 80), "$2y$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i"},
}

// phpHash makes a bcrypt hash the way PHP's password_hash writes it: Go
// writes "$2a$" and PHP "$2y$" for the same bytes.
func phpHash(t *testing.T, password string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return "$2y$" + strings.TrimPrefix(string(h), "$2a$")
}

func TestVerifyLegacyBcryptHashes(t *testing.T) {
	for _, v := range legacyVectors {
		if !IsLegacyHash(v.hash) {
			t.Errorf("%s is not recognised as legacy", v.hash)
		}
		ok, stale, err := VerifyPassword(v.password, v.hash, fastParams)
		if err != nil || !ok || !stale {
			t.Errorf("%q against %s: ok %v stale %v err %v; want a stale match", v.password, v.hash, ok, stale, err)
		}
		// A wrong password is a plain mismatch, not an error.
		if len(v.password) >= 72 {
			continue // a 73rd byte changes nothing
		}
		ok, stale, err = VerifyPassword(v.password+"?", v.hash, fastParams)
		if err != nil || ok || !stale {
			t.Errorf("wrong password against %s: ok %v stale %v err %v", v.hash, ok, stale, err)
		}
	}
	for _, cost := range []int{4, 10} {
		h := phpHash(t, "a new passphrase", cost)
		if ok, _, err := VerifyPassword("a new passphrase", h, fastParams); err != nil || !ok {
			t.Errorf("generated %s: %v %v", h, ok, err)
		}
		if ok, _, err := VerifyPassword("a new passphrasE", h, fastParams); err != nil || ok {
			t.Errorf("generated %s, wrong password: %v %v", h, ok, err)
		}
	}
	for _, bad := range []string{
		"$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", // PHP's mark of the old 8-bit bug
		"$2y$10$tooshort",
		"$2y$xx$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2",
		"$2y$31$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2", // would take days
		"$2c$10$abcdefghijklmnopqrstuuCj7fyLDJytXL.TfOiOeiv0fQvSOK1/2",
	} {
		if _, _, err := VerifyPassword("rasmuslerdorf", bad, fastParams); err == nil {
			t.Errorf("VerifyPassword accepted malformed hash %q", bad)
		}
	}
}
