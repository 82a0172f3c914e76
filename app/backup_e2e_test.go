package app_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/backup"
	"frontdesk/config"
	"frontdesk/internal/testenv"
)

func newBackupApp(t *testing.T, tweak func(*config.Config)) (*app.App, error) {
	t.Helper()
	cfg := testenv.Config(t)
	if tweak != nil {
		tweak(cfg)
	}
	a, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "error"), app.Options{})
	if a != nil && err == nil {
		t.Cleanup(func() { _ = a.Close() })
	}
	return a, err
}

// TestScheduledBackupThroughTheWorker: with FRONTDESK_BACKUP_SCHEDULE the
// worker of a real process declares backup.nightly and, started after
// the period began, makes the period's backup into <data dir>/backups.
func TestScheduledBackupThroughTheWorker(t *testing.T) {
	a, err := newBackupApp(t, func(c *config.Config) { c.BackupSchedule = "30 2 * * *" })
	if err != nil {
		t.Fatal(err)
	}
	var declared bool
	for _, task := range a.Jobs.Tasks() {
		declared = declared || (task.Kind == backup.JobKind && task.Schedule.String() == "30 2 * * *")
	}
	if !declared {
		t.Fatalf("no %s task: %+v", backup.JobKind, a.Jobs.Tasks())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.RunWorker(ctx) }()
	defer cancel() // also when the wait below fails
	var list []backup.Stored
	testenv.Eventually(t, time.Minute, "a scheduled backup", func() bool {
		if list, err = a.Backup.List(ctx); err != nil {
			t.Fatalf("list backups: %v", err)
		}
		return len(list) > 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a.Config.DataDir, "backups", list[0].Name)); err != nil {
		t.Fatalf("backup is not in <data dir>/backups: %v", err)
	}
}

func TestBackupScheduleOffAndInvalid(t *testing.T) {
	a, err := newBackupApp(t, func(c *config.Config) { c.BackupSchedule = "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range a.Jobs.Tasks() {
		if task.Kind == backup.JobKind {
			t.Fatal("backup.nightly declared with the schedule off")
		}
	}
	if _, err := newBackupApp(t, func(c *config.Config) { c.BackupSchedule = "61 * * * *" }); err == nil || !strings.Contains(err.Error(), "FRONTDESK_BACKUP_SCHEDULE") {
		t.Fatalf("bad schedule: %v", err)
	}
}

// TestBackupGoesToTheMediaBucket: with a media bucket and the default
// FRONTDESK_BACKUP_STORE=auto, backups go to its backups/ prefix as
// objects that are not marked cacheable (storage.TestS3CacheControl).
func TestBackupGoesToTheMediaBucket(t *testing.T) {
	fake, backend := fakeS3(t)
	a, err := newBackupApp(t, s3Config(fake.URL, "media"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Backup.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.HeadObject("media", "backups/"+b.Name); err != nil {
		t.Fatalf("backup not in the bucket: %v", err)
	}
	// And it is restorable by name from there (here: onto its own
	// database, which --force replaces).
	if _, err := a.Backup.Restore(context.Background(), b.Name, backup.RestoreOptions{Force: true}); err != nil {
		t.Fatalf("restore from the bucket: %v", err)
	}
}
