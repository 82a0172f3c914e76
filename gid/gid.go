// Package gid implements Frontdesk's global object identifiers.
//
// An ID is a short type prefix, an underscore and a ULID, for example
// "usr_01JD6Q7ZK3M4X9V2S8T5R1W0PC". The prefix lets `node(id:)` find the
// table without a lookup; the 80 random bits of the ULID make ids
// unguessable, unlike the sequential integers many APIs expose: IDs made
// in the same millisecond step by a random amount, never by one. The same
// value is the primary key in the database, so no translation layer sits
// between the API and the store.
package gid

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ID is a prefixed ULID. The zero value is the empty string and is never a
// valid identifier.
type ID string

// ErrMalformed is returned for strings that are not well-formed IDs.
var ErrMalformed = errors.New("malformed ID")

const (
	ulidLen   = 26
	maxPrefix = 5
	// crockford is the Crockford base32 alphabet ULIDs are written in.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// New returns a fresh ID with the given prefix. The prefix must be 2 to 5
// lower-case letters; a bad prefix is a programming error and panics.
func New(prefix string) ID {
	if !validPrefix(prefix) {
		panic(fmt.Sprintf("gid: invalid prefix %q", prefix))
	}
	return ID(prefix + "_" + newULID(time.Now()))
}

// Parse checks that s is a well-formed ID and returns it.
func Parse(s string) (ID, error) {
	id := ID(s)
	if err := id.Validate(); err != nil {
		return "", err
	}
	return id, nil
}

// Validate reports whether the ID is well formed.
func (id ID) Validate() error {
	s := string(id)
	sep := len(s) - ulidLen - 1
	if sep < 2 || sep > maxPrefix || s[sep] != '_' || !validPrefix(s[:sep]) {
		return fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	for i := sep + 1; i < len(s); i++ {
		if !isCrockford(s[i]) {
			return fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
		}
	}
	// The first character holds the top 3 bits of a 48-bit timestamp.
	if s[sep+1] > '7' {
		return fmt.Errorf("%w: %q", ErrMalformed, truncate(s))
	}
	return nil
}

// Prefix returns the type prefix of a well-formed ID, or "" otherwise.
func (id ID) Prefix() string {
	if id.Validate() != nil {
		return ""
	}
	return string(id[:len(id)-ulidLen-1])
}

// String returns the ID as a string.
func (id ID) String() string { return string(id) }

// MarshalGQL writes the ID as a JSON string. The response transport copies
// what resolvers write without re-encoding it, so the quoting must be
// JSON's: an ID is printable ASCII and written as it is; anything else
// (never made by New, but a column could hold it) is escaped by
// encoding/json, not strconv.Quote, whose \x escapes JSON lacks.
func (id ID) MarshalGQL(w io.Writer) {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(string(id)) // a string always encodes
			_, _ = w.Write(b)
			return
		}
	}
	_, _ = io.WriteString(w, `"`+string(id)+`"`)
}

// UnmarshalGQL reads an ID from a GraphQL input value and validates it,
// so resolvers never see a malformed or forged-format identifier.
func (id *ID) UnmarshalGQL(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case ID:
		s = string(x)
	default:
		return fmt.Errorf("%w: expected a string, got %T", ErrMalformed, v)
	}
	parsed, err := Parse(s)
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*id = ""
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(v)
	default:
		return fmt.Errorf("gid: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }

func validPrefix(p string) bool {
	if len(p) < 2 || len(p) > maxPrefix {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 'a' || p[i] > 'z' {
			return false
		}
	}
	return true
}

func isCrockford(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U')
}

// monotonic remembers the last ULID made in this process, so IDs made in
// the same millisecond still sort in creation order: the random part of
// the next one is the previous plus a random amount between 1 and 2^32,
// as oklog/ulid's monotonic entropy with its default increment does.
// Lists ordered by ID are then in creation order (outbox jobs and other
// lists break created_at ties by ID), yet knowing one ID does not tell an
// attacker the next: each step hides 32 fresh random bits.
var monotonic struct {
	sync.Mutex
	ms   uint64
	rand [10]byte
}

// newULID encodes a 48-bit millisecond timestamp and 80 random bits as 26
// Crockford base32 characters, so IDs sort by creation time.
func newULID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	monotonic.Lock()
	if ms == monotonic.ms && addRandom(&monotonic.rand) {
		copy(b[6:], monotonic.rand[:])
	} else {
		if ms == monotonic.ms {
			// The 80 bits overflowed (about one chance in 2^48 per ID):
			// borrow the next millisecond so the order still holds.
			ms++
		}
		randomBytes(b[6:])
		monotonic.ms = ms
		copy(monotonic.rand[:], b[6:])
	}
	monotonic.Unlock()
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	// 128 bits as 26 base32 digits: the first digit carries 3 bits.
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [ulidLen]byte
	for i := ulidLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// addRandom adds a random increment in [1, 2^32] to a big-endian 80-bit
// number; false means it overflowed (then the caller starts afresh).
func addRandom(n *[10]byte) bool {
	var r [4]byte
	randomBytes(r[:])
	carry := uint64(binary.BigEndian.Uint32(r[:])) + 1
	for i := len(n) - 1; i >= 0 && carry != 0; i-- {
		sum := uint64(n[i]) + carry
		n[i] = byte(sum)
		carry = sum >> 8
	}
	return carry == 0
}

func randomBytes(b []byte) {
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(err)
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
