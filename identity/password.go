package identity

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"frontdesk/errcode"
)

// HashParams are argon2id's cost parameters. Each stored hash records the
// parameters it was made with (PHC string format), so they can be raised
// later without invalidating existing passwords; a sign-in with an older
// hash re-hashes the password with the current parameters.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultHashParams follow OWASP's argon2id recommendation (19 MiB, two
// passes, one lane), which costs a few tens of milliseconds per hash.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Password length policy (NIST SP 800-63B): long passphrases are welcome,
// short ones are not; the upper bound only stops abuse.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords holds the commonest leaked passwords long enough to pass
// the length rule, lower-cased.
var commonPasswords = func() map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out[strings.ToLower(line)] = true
		}
	}
	return out
}()

// CheckPasswordPolicy returns a user error for a password that is too
// short, too long, or among the commonest passwords. field is where the
// error points in the mutation's input.
func CheckPasswordPolicy(password, field string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return errcode.Invalidf(errcode.Invalid, field, fmt.Sprintf("use at least %d characters", MinPasswordLen))
	case len(password) > MaxPasswordLen:
		return errcode.Invalidf(errcode.TooLong, field, fmt.Sprintf("use at most %d bytes", MaxPasswordLen))
	case commonPasswords[strings.ToLower(password)]:
		return errcode.Invalidf(errcode.Invalid, field, "this password is among the most common ones; choose another")
	}
	return nil
}

// HashPassword hashes password with argon2id and a random salt, returning
// "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func HashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// The hash computations, replaced in tests to count the work a password
// check does.
var (
	argon2Key     = argon2.IDKey
	bcryptCompare = bcrypt.CompareHashAndPassword
)

// VerifyPassword reports whether password matches encoded, comparing in
// constant time, and whether the hash's parameters differ from want (so
// the caller can re-hash). encoded is an argon2id hash, or a legacy bcrypt
// hash (see IsLegacyHash), which is always stale.
func VerifyPassword(password, encoded string, want HashParams) (ok, stale bool, err error) {
	if IsLegacyHash(encoded) {
		return verifyBcrypt(password, encoded)
	}
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2Key([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	stale = p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads || uint32(len(key)) != want.KeyLen
	return ok, stale, nil
}

func decodeHash(encoded string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if !argonCostAllowed(p) {
		return p, nil, nil, errBadHash
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errBadHash
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// Caps on the cost a stored argon2id hash may ask for. Hashes come from
// this server but also from imports (ImportCustomers) and database
// restores; without a cap, one hash claiming gigabytes of memory or
// thousands of passes would turn every sign-in to that account into a
// denial of service. The caps are far above what anyone configures
// (OWASP: 19-46 MiB, 1-2 passes).
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

// argonCostAllowed reports whether p is within the caps above (and
// sane: argon2 needs at least 8 KiB per thread and one pass).
func argonCostAllowed(p HashParams) bool {
	return p.Threads >= 1 && p.Threads <= maxArgonThreads &&
		p.Time >= 1 && p.Time <= maxArgonTime &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxArgonMemory
}

// Legacy bcrypt hashes, as the legacy PHP shop's password_hash() wrote
// them ("$2y$"), and as other bcrypt implementations write them ("$2a$",
// "$2b$"). "$2x$", PHP's mark for hashes made by the pre-5.3.7 bug, is not
// accepted.
var legacyPrefixes = []string{"$2y$", "$2b$", "$2a$"}

// maxBcryptCost bounds the work one imported hash can cost a sign-in
// (PHP's default is 10; each step doubles the time).
const maxBcryptCost = 16

// IsLegacyHash reports whether encoded is a legacy bcrypt hash.
func IsLegacyHash(encoded string) bool {
	for _, p := range legacyPrefixes {
		if strings.HasPrefix(encoded, p) {
			return true
		}
	}
	return false
}

// verifyBcrypt checks password against a legacy bcrypt hash. PHP's "$2y$"
// is the same algorithm as "$2b$" (both name bcrypt with the $2x$ bug
// fixed), so it is compared as "$2b$". Like PHP, bcrypt uses the first 72
// bytes of the password. A match is always stale: the caller re-hashes
// with argon2id.
func verifyBcrypt(password, encoded string) (ok, stale bool, err error) {
	h := []byte(encoded)
	if h[2] == 'y' {
		h[2] = 'b'
	}
	cost, err := bcrypt.Cost(h)
	if err != nil || cost > maxBcryptCost {
		return false, false, errBadHash
	}
	switch err := bcryptCompare(h, []byte(password)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, true, nil
	default:
		return false, false, errBadHash
	}
}
