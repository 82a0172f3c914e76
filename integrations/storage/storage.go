// Package storage keeps uploaded files (product images, backups): on local
// disk by default, in S3 (or anything that speaks its API) when
// configured. Keys are slash-separated paths such as
// "products/prd_…/img_….jpg"; callers never see where bytes really live.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Get for a key that holds nothing.
var ErrNotFound = errors.New("storage: no object with this key")

// Store is what the rest of Frontdesk needs of a file store.
type Store interface {
	// Put stores size bytes from r under key.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the object under key; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat reports an object's size and stored content type without
	// reading it (ErrNotFound when there is none), so a direct upload can
	// be checked against the size limit before a byte is downloaded.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL is the public address of key.
	URL(key string) string
	// PresignPut returns a URL a client can PUT the bytes of key to
	// directly, valid for ttl, or ErrPresignUnsupported.
	PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error)
}

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
}

// Object is one stored object, as List reports it.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// ErrPresignUnsupported is returned by stores that cannot hand out direct
// upload URLs (local disk).
var ErrPresignUnsupported = errors.New("storage: direct upload is not supported by this store")
