package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"frontdesk/config"
	"frontdesk/database"
	"frontdesk/internal/testenv"
)

// `frontdesk migrate` stops with a clear error when a migration applied
// to the database no longer has the checksum it was applied with (here
// the database's record is altered, which is what an edited file looks
// like from the database's side); main then exits 1.
func TestMigrateRefusesAnEditedAppliedMigration(t *testing.T) {
	dir := t.TempDir()
	dbURL := testenv.DatabaseURL(t)
	t.Setenv("FRONTDESK_DATA_DIR", dir)
	t.Setenv("FRONTDESK_DATABASE_URL", dbURL)
	t.Setenv("FRONTDESK_LOG_LEVEL", "error")
	t.Setenv("FRONTDESK_BACKUP_SCHEDULE", "off")
	if err := run([]string{"migrate"}); err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	cfg := config.Config{DataDir: dir}
	db, err := database.Open(context.Background(), dbURL, cfg.SQLitePath(), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.SQL.Exec("UPDATE " + database.RevisionTable + " SET `hash` = 'h1:edited' WHERE `description` = 'init'")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("altered %d revisions", n)
	}
	err = run([]string{"migrate"})
	if !errors.Is(err, database.ErrMigrationEdited) || !strings.Contains(err.Error(), "_init.sql") {
		t.Fatalf("migrate after the edit: %v, want ErrMigrationEdited naming the init migration", err)
	}
}
