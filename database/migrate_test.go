package database_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"frontdesk/database"
	"frontdesk/internal/testenv"
)

// TestMigrationsMatchEntSchema fails when an ent schema changed without a
// migration: after applying every migration, ent must find nothing to do.
func TestMigrationsMatchEntSchema(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	var buf bytes.Buffer
	if err := db.Client.Schema.WriteTo(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	var pending []string
	for _, line := range strings.Split(buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "BEGIN;" || line == "COMMIT;" || strings.HasPrefix(line, "--") {
			continue
		}
		pending = append(pending, line)
	}
	if len(pending) > 0 {
		t.Fatalf("the ent schema differs from the migrations; run `make migration name=<what changed>`:\n%s", strings.Join(pending, "\n"))
	}
}

func TestMigrateTwiceIsHarmless(t *testing.T) {
	db := testenv.DB(t, database.Options{}) // applies everything once
	applied, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second run applied %v", applied)
	}
}

func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	if !testenv.External() {
		t.Skip("concurrent replicas share a server database; SQLite is single-process")
	}
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	const replicas = 4
	errs := make(chan error, replicas)
	counts := make(chan int, replicas)
	for range replicas {
		go func() {
			db, err := database.Open(ctx, url, "", database.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			applied, err := db.Migrate(ctx)
			counts <- len(applied)
			errs <- err
		}()
	}
	total := 0
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(counts)
	for n := range counts {
		total += n
	}
	all, err := database.Migrations("mysql")
	if err != nil {
		t.Fatal(err)
	}
	if total != len(all) {
		t.Fatalf("replicas applied %d migrations in total, want %d (each once)", total, len(all))
	}
}
