package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// Version is a version key in the shared store, the pattern of Frontdesk's
// versioned caches (the catalog's reads, availability): every write that
// affects what a cache holds replaces the version once it has committed,
// every read names the version it read first, and a process keeps entries
// (see Local) only under the version they were read under. So a write on
// any replica retires every replica's entries for the very next read,
// without a message between them; old entries simply expire.
//
// Versions are random, never counters, so a version key that expired or
// was evicted cannot make old entries current again.
type Version struct {
	store Store
	key   string
	// lost records that a bump or a read failed: a write may then have
	// committed without replacing the version (here or, during the same
	// outage, on another replica), so the first read that reaches the
	// store again replaces it before answering.
	lost atomic.Bool
}

// VersionTTL keeps version keys far longer than any entry kept under one.
const VersionTTL = 30 * 24 * time.Hour

// NewVersion returns the version kept under key in store.
func NewVersion(store Store, key string) *Version {
	return &Version{store: store, key: key}
}

// Current returns the current version, creating one if there is none. An
// error means the store failed: the caller must not use what it keeps
// under any version then (it cannot hear of other replicas' writes) and
// reads the source of truth instead, or a version of its own that it
// knows to be safe.
func (v *Version) Current(ctx context.Context) (string, error) {
	if v.lost.Load() {
		if err := v.Bump(ctx); err != nil {
			return "", err
		}
	}
	b, ok, err := v.store.Get(ctx, v.key)
	if err == nil && ok {
		return string(b), nil
	}
	if err == nil {
		s := newVersion()
		if err = v.store.Set(ctx, v.key, []byte(s), VersionTTL); err == nil {
			return s, nil
		}
	}
	v.lost.Store(true)
	return "", fmt.Errorf("read version %s: %w", v.key, err)
}

// Bump replaces the version, retiring everything kept under the old one on
// every replica. Call it after the write commits, never before: a read
// between the bump and the commit would keep the old data under the new
// version. When it fails the version is replaced by the first read that
// reaches the store again.
func (v *Version) Bump(ctx context.Context) error {
	if err := v.store.Set(ctx, v.key, []byte(newVersion()), VersionTTL); err != nil {
		v.lost.Store(true)
		return fmt.Errorf("replace version %s: %w", v.key, err)
	}
	v.lost.Store(false)
	return nil
}

func newVersion() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}
