package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"frontdesk/backup"
	"frontdesk/internal/testenv"
)

func TestParseBackupFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    backupFlags
		wantErr string
	}{
		{[]string{"backup"}, backupFlags{}, ""},
		{[]string{"backup", "--out", "x.zip"}, backupFlags{out: "x.zip"}, ""},
		{[]string{"backup", "--list"}, backupFlags{list: true}, ""},
		{[]string{"backup", "--list", "--out", "x"}, backupFlags{}, "do not go together"},
		{[]string{"backup", "extra"}, backupFlags{}, "no arguments"},
		{[]string{"backup", "--force"}, backupFlags{}, "not defined"},
		{[]string{"restore", "x.zip"}, backupFlags{source: "x.zip"}, ""},
		{[]string{"restore", "--force", "x.zip"}, backupFlags{force: true, source: "x.zip"}, ""},
		{[]string{"restore", "--dry-run", "x.zip"}, backupFlags{dryRun: true, source: "x.zip"}, ""},
		{[]string{"restore"}, backupFlags{}, "needs one backup"},
		{[]string{"restore", "a", "b"}, backupFlags{}, "needs one backup"},
	}
	for _, tt := range tests {
		got, err := parseBackupFlags(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

// TestBackupAndRestoreCommands drives the binary's run(): seed, back up
// to the store and to a file, list, and restore into a second database
// (refused there once it has data, unless --force).
func TestBackupAndRestoreCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FRONTDESK_DATA_DIR", filepath.Join(dir, "one"))
	t.Setenv("FRONTDESK_DATABASE_URL", testenv.DatabaseURL(t))
	t.Setenv("FRONTDESK_LOG_LEVEL", "error")
	t.Setenv("FRONTDESK_BACKUP_SCHEDULE", "off")
	for _, args := range [][]string{{"seed", "--products", "3"}, {"backup"}, {"backup", "--list"}, {"backup", "--out", filepath.Join(dir, "x.zip")}} {
		if err := run(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	stored, err := filepath.Glob(filepath.Join(dir, "one", "backups", "frontdesk-*.zip"))
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored backups: %v, %v", stored, err)
	}
	if err := run([]string{"backup", "--out", filepath.Join(dir, "x.zip")}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("--out over an existing file: %v", err)
	}

	t.Setenv("FRONTDESK_DATA_DIR", filepath.Join(dir, "two"))
	t.Setenv("FRONTDESK_DATABASE_URL", testenv.DatabaseURL(t))
	if err := run([]string{"restore", filepath.Join(dir, "x.zip")}); err != nil {
		t.Fatalf("restore into an empty database: %v", err)
	}
	if err := run([]string{"restore", stored[0]}); !errors.Is(err, backup.ErrNotEmpty) {
		t.Fatalf("restore into a full database: %v", err)
	}
	if err := run([]string{"restore", "--force", stored[0]}); err != nil {
		t.Fatalf("restore --force: %v", err)
	}
	if err := run([]string{"restore", "frontdesk-20200101T000000.000Z-sqlite.zip"}); !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("restore of a missing backup: %v", err)
	}
}
