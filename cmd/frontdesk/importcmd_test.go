package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"frontdesk/identity"
	"frontdesk/internal/testenv"
)

func TestParseImportFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    importFlags
		wantErr string
	}{
		{[]string{"import", "customers", "dir/x.csv"}, importFlags{file: "dir/x.csv", opts: identity.ImportOptions{Source: "x.csv"}}, ""},
		{[]string{"import", "customers", "--dry-run", "--skip-invalid", "--update", "x.csv"},
			importFlags{file: "x.csv", opts: identity.ImportOptions{DryRun: true, SkipInvalid: true, Update: true, Source: "x.csv"}}, ""},
		{[]string{"import"}, importFlags{}, "import customers FILE.csv"},
		{[]string{"import", "orders", "x.csv"}, importFlags{}, "import customers FILE.csv"},
		{[]string{"import", "customers"}, importFlags{}, "needs one CSV file"},
		{[]string{"import", "customers", "a.csv", "b.csv"}, importFlags{}, "needs one CSV file"},
		{[]string{"import", "customers", "--force", "a.csv"}, importFlags{}, "not defined"},
	}
	for _, tt := range tests {
		got, err := parseImportFlags(tt.args)
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

// TestImportCustomersCommand drives run(): a file with an invalid row
// fails and imports nothing, --dry-run and --skip-invalid report their
// counts, and a second import skips every account.
func TestImportCustomersCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FRONTDESK_DATA_DIR", dir)
	t.Setenv("FRONTDESK_DATABASE_URL", testenv.DatabaseURL(t))
	t.Setenv("FRONTDESK_LOG_LEVEL", "error")
	t.Setenv("FRONTDESK_BACKUP_SCHEDULE", "off")
	file := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(file, []byte("email,name,password_hash\n"+
		"ann@example.com,Ann,$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a\n"+
		"bob,Bob,\n"+
		"cy@example.com,Cy,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// stdout captures what run prints.
	stdout := func(args ...string) (string, error) {
		t.Helper()
		f, err := os.CreateTemp(dir, "stdout")
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stdout
		os.Stdout = f
		runErr := run(args)
		os.Stdout = saved
		out, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(out), runErr
	}
	steps := []struct {
		args    []string
		out     string
		wantErr string
	}{
		{[]string{"--dry-run"}, "dry run: nothing would be imported (fix the invalid rows, or import the rest with --skip-invalid): read 3, created 0", "invalid rows"},
		{nil, "nothing imported (fix the invalid rows, or import the rest with --skip-invalid): read 3, created 0", "invalid rows"},
		{[]string{"--dry-run", "--skip-invalid"}, "dry run, nothing written; would import: read 3, created 2 (1 without a usable password, who must reset it), updated 0, skipped existing 0, invalid 1", ""},
		{[]string{"--skip-invalid"}, "imported: read 3, created 2 (1 without a usable password, who must reset it), updated 0, skipped existing 0, invalid 1", ""},
		{[]string{"--skip-invalid"}, "imported: read 3, created 0 (0 without a usable password, who must reset it), updated 0, skipped existing 2, invalid 1", ""},
	}
	for _, s := range steps {
		args := append(append([]string{"import", "customers"}, s.args...), file)
		out, err := stdout(args...)
		if s.wantErr == "" && err != nil || s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Fatalf("%v: %v, want error %q", args, err, s.wantErr)
		}
		if !strings.Contains(out, s.out) {
			t.Fatalf("%v printed %q, want %q", args, out, s.out)
		}
	}
	if err := run([]string{"import", "customers", filepath.Join(dir, "missing.csv")}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}
