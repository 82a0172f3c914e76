package identity

import (
	"errors"
	"testing"
)

// A stored hash may come from an import or a restore: one that asks for an
// absurd cost is refused before argon2 runs, instead of making its sign-in
// take gigabytes or minutes.
func TestVerifyRefusesHashesBeyondTheCostCaps(t *testing.T) {
	const saltAndKey = "$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	for _, tc := range []struct {
		name, params string
		ok           bool
	}{
		{"default", "m=19456,t=2,p=1", true},
		{"at the caps", "m=262144,t=16,p=16", true},
		{"4 GiB of memory", "m=4194304,t=2,p=1", false},
		{"thousand passes", "m=19456,t=1000,p=1", false},
		{"zero passes", "m=19456,t=0,p=1", false},
		{"64 threads", "m=19456,t=2,p=64", false},
		{"zero threads", "m=19456,t=2,p=0", false},
		{"threads out of uint8", "m=19456,t=2,p=300", false},
		{"less memory than argon2 allows", "m=8,t=1,p=4", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := VerifyPassword("whatever", "$argon2id$v=19$"+tc.params+saltAndKey, DefaultHashParams)
			if tc.ok && err != nil {
				t.Fatalf("refused a hash within the caps: %v", err)
			}
			if !tc.ok && !errors.Is(err, errBadHash) {
				t.Fatalf("err = %v, want errBadHash", err)
			}
		})
	}
	for _, short := range []string{
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U", // 4-byte salt
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5",                          // 3-byte key
	} {
		if _, _, err := VerifyPassword("whatever", short, DefaultHashParams); !errors.Is(err, errBadHash) {
			t.Errorf("VerifyPassword(%q) err = %v, want errBadHash", short, err)
		}
	}
}
