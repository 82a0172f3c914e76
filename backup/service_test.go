package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/job"
	"frontdesk/integrations/storage"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
)

// fakeS3 is an in-process S3 server with a "media" bucket that already
// holds a product image, as the media bucket does.
func fakeS3(t *testing.T) *storage.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := storage.NewS3(storage.S3Options{Bucket: "media", Region: "us-east-1", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "test", SecretAccessKey: "test", CacheControl: "private, no-store"})
	if err != nil {
		t.Fatal(err)
	}
	img := []byte("\x89PNG not really")
	if err := s.Put(context.Background(), "products/prd_1/img_1.png", bytes.NewReader(img), int64(len(img)), "image/png"); err != nil {
		t.Fatal(err)
	}
	return s
}

// clock returns times one hour apart, so backups have distinct names.
func clock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Hour) }
}

func TestRetentionKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t, database.Options{})
	dir := t.TempDir()
	local, err := storage.NewLocal(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	// Files that are not backups are never touched.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]struct {
		Store
		prefix string
	}{"local": {local, ""}, "s3": {fakeS3(t), "backups/"}} {
		s := &Service{DB: db, Store: store.Store, Prefix: store.prefix, Keep: 3, TempDir: t.TempDir(), Now: clock()}
		var made []string
		for range 5 {
			b, _, err := s.Run(ctx)
			if err != nil {
				t.Fatalf("%s: run: %v", name, err)
			}
			made = append(made, b.Name)
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range list {
			names = append(names, b.Name)
			if b.Size == 0 {
				t.Errorf("%s: %s has size 0", name, b.Name)
			}
		}
		want := []string{made[4], made[3], made[2]}
		if strings.Join(names, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: kept %v, want the newest three %v", name, names, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "keep me" {
		t.Fatalf("retention touched a file that is not a backup: %q, %v", b, err)
	}
	if n, _ := filepath.Glob(filepath.Join(dir, ".frontdesk-*")); len(n) != 0 {
		t.Fatalf("temporary files left behind: %v", n)
	}
}

// TestS3Destination: a backup goes to backups/ in the media bucket, next
// to the media it leaves alone, and restores by name into a fresh store.
func TestS3Destination(t *testing.T) {
	ctx := context.Background()
	src := testenv.DB(t, database.Options{})
	seed(t, src, 4)
	s3 := fakeS3(t)
	s := &Service{DB: src, Store: s3, Prefix: "backups/", Keep: 1, Now: clock()}
	if _, _, err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := s3.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, " ") != "backups/"+b.Name+" products/prd_1/img_1.png" {
		t.Fatalf("bucket holds %v", keys)
	}

	dst := testenv.DB(t, database.Options{})
	r := &Service{DB: dst, Store: s3, Prefix: "backups/"}
	if _, err := r.Restore(ctx, "backups/"+b.Name, RestoreOptions{}); err != nil {
		t.Fatalf("restore from S3: %v", err)
	}
	assertSameData(t, src, dst)
	if _, err := r.Restore(ctx, "frontdesk-20200101T000000.000Z-sqlite.zip", RestoreOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of a missing backup: %v", err)
	}
	if _, err := r.Restore(ctx, "../etc/passwd", RestoreOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore of a name that is not a backup: %v", err)
	}
}

// TestScheduledBackupRuns: the recurring task is declared on the
// schedule, and a worker that starts after the period began makes the
// period's backup, once.
func TestScheduledBackupRuns(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	local, err := storage.NewLocal(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{DB: db, Store: local, Keep: 14}
	reg := outbox.NewRegistry()
	Register(reg, "30 2 * * *", s)
	tasks := reg.Tasks()
	if len(tasks) != 1 || tasks[0].Kind != JobKind || tasks[0].Schedule.String() != "30 2 * * *" {
		t.Fatalf("tasks = %+v", tasks)
	}
	now := func() time.Time { return time.Date(2026, 3, 1, 2, 45, 0, 0, time.UTC) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- outbox.NewWorker(db.Client, reg, outbox.Options{Dialect: db.Dialect, PollInterval: 20 * time.Millisecond, Now: now}).Run(ctx)
	}()
	var j *ent.Job
	testenv.Eventually(t, 30*time.Second, "the backup job finished", func() bool {
		var err error
		j, err = db.Client.Job.Query().Where(job.Kind(JobKind)).Only(ctx)
		return err == nil && (j.State == job.StateSUCCEEDED || j.State == job.StateDEAD)
	})
	if j.State != job.StateSUCCEEDED || j.IdempotencyKey != "cron:backup.nightly:2026-03-01T02:30:00Z" {
		t.Fatalf("backup job: %+v", j)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("backups after the scheduled run: %v, %v", list, err)
	}
}

// failingStore refuses every Put, as an unreachable bucket does.
type failingStore struct{ Store }

func (failingStore) Put(context.Context, string, io.Reader, int64, string) error {
	return errors.New("connection refused")
}

// deleteFails stores but cannot delete, as a bucket with a write-only
// policy.
type deleteFails struct{ Store }

func (deleteFails) Delete(context.Context, string) error { return errors.New("access denied") }

// TestStoreFailuresAreReported: a backup that cannot be stored is an
// error (so the job retries) and leaves no temporary file; a retention
// delete that fails is reported too, after the new backup is stored.
func TestStoreFailuresAreReported(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t, database.Options{})
	local, err := storage.NewLocal(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	s := &Service{DB: db, Store: failingStore{local}, Keep: 1, TempDir: tmp, Now: clock()}
	if _, _, err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("run with a failing store: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	now := clock()
	ok := &Service{DB: db, Store: local, Keep: 1, Now: now}
	for range 2 {
		if _, _, err := ok.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	onlyDeletesFail := &Service{DB: db, Store: deleteFails{local}, Keep: 1, Now: now}
	b, _, err := onlyDeletesFail.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("run whose retention fails: %v", err)
	}
	if list, _ := ok.List(ctx); len(list) != 2 || list[0].Name != b.Name {
		t.Fatalf("the new backup must be stored even when retention fails: %v", list)
	}
}
