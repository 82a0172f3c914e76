package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Local keeps objects as files under a directory and serves them over
// HTTP (mounted at /media/).
type Local struct {
	dir     string
	baseURL string
	files   http.Handler
}

// NewLocal stores under dir; URLs are baseURL + "/" + key.
func NewLocal(dir, baseURL string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create media dir: %w", err)
	}
	return &Local{dir: dir, baseURL: strings.TrimSuffix(baseURL, "/"), files: http.FileServer(http.Dir(dir))}, nil
}

// pathOf maps a key to a file, refusing keys that would leave dir.
func (l *Local) pathOf(key string) (string, error) {
	clean := path.Clean("/" + key)
	if key == "" || clean != "/"+key || strings.Contains(key, "\\") {
		return "", fmt.Errorf("storage: invalid key %q", key)
	}
	return filepath.Join(l.dir, filepath.FromSlash(clean)), nil
}

// Put writes the object to a temporary file and renames it into place,
// so a reader never sees half a file.
func (l *Local) Put(_ context.Context, key string, r io.Reader, _ int64, _ string) error {
	p, err := l.pathOf(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after a successful rename
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	return nil
}

// Get opens the object.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.pathOf(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Stat reports the file's size. Local files keep no content type: the
// catalog sniffs the bytes anyway.
func (l *Local) Stat(_ context.Context, key string) (Info, error) {
	p, err := l.pathOf(key)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, fmt.Errorf("storage stat %s: %w", key, err)
	}
	return Info{Size: fi.Size()}, nil
}

// Delete removes the object.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.pathOf(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage delete %s: %w", key, err)
	}
	return nil
}

// List returns the objects whose keys start with prefix, sorted by key.
// Files being written (Put's hidden temporary files) are left out.
func (l *Local) List(_ context.Context, prefix string) ([]Object, error) {
	var out []Object
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Object{Key: key, Size: fi.Size(), Modified: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage list %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// URL returns the public URL of key.
func (l *Local) URL(key string) string { return l.baseURL + "/" + key }

// PresignPut is not supported on local disk: clients upload through the
// GraphQL multipart request instead.
func (l *Local) PresignPut(context.Context, string, string, time.Duration) (string, error) {
	return "", ErrPresignUnsupported
}

// ServeHTTP serves stored files (mount with http.StripPrefix("/media/")).
// Objects never change under a key, so they may be cached for good.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
		http.NotFound(w, r) // no directory listings
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	l.files.ServeHTTP(w, r)
}
