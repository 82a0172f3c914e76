package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"frontdesk/database"
	"frontdesk/integrations/storage"
	"frontdesk/outbox"
)

// Store is where backups are kept: a local directory or an S3 prefix
// (integrations/storage).
type Store interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) ([]storage.Object, error)
}

// Service makes backups into a Store and keeps the newest Keep of them.
type Service struct {
	DB    *database.DB
	Store Store
	// Prefix goes before every key: "backups/" in the media bucket, ""
	// in a directory of its own.
	Prefix string
	// Keep is how many backups are kept; older ones are deleted after
	// each new one.
	Keep int
	// TempDir is where an archive is written before it is stored (the
	// system default when empty).
	TempDir string
	Log     *slog.Logger
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Stored is one backup in the store.
type Stored struct {
	// Name is the key without the prefix: what `frontdesk restore` takes.
	Name     string
	Size     int64
	Modified time.Time
}

// names are frontdesk-20261126T023000.000Z-sqlite.zip: sorting them sorts
// by time, and nothing else in the store is ever taken for a backup.
var namePattern = regexp.MustCompile(`^frontdesk-\d{8}T\d{6}\.\d{3}Z-(sqlite|mysql)\.zip$`)

func backupName(at time.Time, d string) string {
	return "frontdesk-" + at.UTC().Format("20060102T150405.000Z") + "-" + dialectName(d) + ".zip"
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Run writes a backup to the store, then deletes the oldest beyond Keep.
func (s *Service) Run(ctx context.Context) (Stored, *Manifest, error) {
	f, err := os.CreateTemp(s.TempDir, ".frontdesk-backup-*.zip")
	if err != nil {
		return Stored{}, nil, fmt.Errorf("backup: temporary file: %w", err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck // temporary
	defer f.Close()           //nolint:errcheck // closed below; this is for early returns
	m, err := Write(ctx, s.DB, f, s.now())
	if err != nil {
		return Stored{}, nil, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return Stored{}, nil, fmt.Errorf("backup: %w", err)
	}
	name := backupName(m.CreatedAt, s.DB.Dialect)
	if err := s.Store.Put(ctx, s.Prefix+name, f, size, "application/zip"); err != nil {
		return Stored{}, nil, fmt.Errorf("backup: store %s: %w", name, err)
	}
	out := Stored{Name: name, Size: size, Modified: m.CreatedAt}
	s.log().InfoContext(ctx, "backup written", "name", name, "bytes", size, "rows", m.Rows(), "tables", len(m.Tables), "checksum", m.Checksum)
	deleted, err := s.Prune(ctx)
	if err != nil {
		// The backup is safe; only old ones linger. Report it so the
		// job retries (the next attempt writes a fresh backup).
		return out, m, err
	}
	if len(deleted) > 0 {
		s.log().InfoContext(ctx, "old backups deleted", "names", deleted, "keep", s.Keep)
	}
	return out, m, nil
}

// List returns the backups in the store, newest first.
func (s *Service) List(ctx context.Context) ([]Stored, error) {
	objs, err := s.Store.List(ctx, s.Prefix)
	if err != nil {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	var out []Stored
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, s.Prefix)
		if namePattern.MatchString(name) {
			out = append(out, Stored{Name: name, Size: o.Size, Modified: o.Modified})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

// Prune deletes all but the newest Keep backups and returns their names.
func (s *Service) Prune(ctx context.Context) ([]string, error) {
	if s.Keep <= 0 {
		return nil, nil
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, b := range all[min(s.Keep, len(all)):] {
		if err := s.Store.Delete(ctx, s.Prefix+b.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, b.Name)
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("backup: delete old backups: %w", errors.Join(errs...))
	}
	return deleted, nil
}

// Fetch copies a stored backup (by its name, or its key with the
// prefix) into a temporary file; the caller closes and removes it.
func (s *Service) Fetch(ctx context.Context, name string) (*os.File, error) {
	name = strings.TrimPrefix(name, s.Prefix)
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%w: %q is not a backup name such as frontdesk-20261126T023000.000Z-sqlite.zip (see `frontdesk backup --list`)", ErrNotFound, name)
	}
	rc, err := s.Store.Get(ctx, s.Prefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: fetch %s: %w", name, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(s.TempDir, ".frontdesk-restore-*.zip")
	if err != nil {
		return nil, fmt.Errorf("backup: temporary file: %w", err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("backup: fetch %s: %w", name, err)
	}
	return f, nil
}

// RestoreFile restores the backup in a local file (see Restore).
func RestoreFile(ctx context.Context, db *database.DB, path string, opts RestoreOptions) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	return restoreOpen(ctx, db, f, opts)
}

// restoreOpen restores the backup in an open file (see Restore).
func restoreOpen(ctx context.Context, db *database.DB, f *os.File, opts RestoreOptions) (*Manifest, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return Restore(ctx, db, f, fi.Size(), opts)
}

// Restore restores a backup given as a local file path or as the name of
// a backup in the store.
func (s *Service) Restore(ctx context.Context, fileOrName string, opts RestoreOptions) (*Manifest, error) {
	if _, err := os.Stat(fileOrName); err == nil {
		return RestoreFile(ctx, s.DB, fileOrName, opts)
	}
	f, err := s.Fetch(ctx, fileOrName)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name()) //nolint:errcheck // temporary
	defer f.Close()           //nolint:errcheck // read only
	return restoreOpen(ctx, s.DB, f, opts)
}

// JobKind is the outbox kind of the scheduled backup.
const JobKind = "backup.nightly"

// Register declares the scheduled backup: a recurring outbox task on spec
// (see outbox.Schedule), so however many replicas run workers, one
// backup is made per period.
func Register(reg *outbox.Registry, spec string, s *Service) {
	reg.Every(spec, outbox.Kind{Name: JobKind, Concurrency: 1, Timeout: time.Hour,
		Handler: func(ctx context.Context, _ *outbox.Running) error {
			_, _, err := s.Run(ctx)
			return err
		}})
}
