package database_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/internal/testenv"
)

// Arguments are interpolated by the driver (one round trip per statement)
// only on utf8mb4, where byte-wise escaping is exact.
func TestMySQLInterpolatesOnlyOnUTF8MB4(t *testing.T) {
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"mysql://root@127.0.0.1/app", true},
		{"mysql://root@127.0.0.1/app?collation=utf8mb4_0900_ai_ci", true},
		{"mysql://root@127.0.0.1/app?charset=sjis", false},
		{"mysql://root@127.0.0.1/app?charset=utf8mb4,gbk", false},
		{"mysql://root@127.0.0.1/app?charset=big5&collation=big5_chinese_ci", false},
		{"mysql://root@127.0.0.1/app?interpolateParams=false", false},
	} {
		cfg, err := database.MySQLConfig(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if cfg.InterpolateParams != c.want {
			t.Errorf("%s: interpolateParams %v, want %v", c.url, cfg.InterpolateParams, c.want)
		}
	}
}

// Times are sent at the microsecond, the precision of the columns, so
// MariaDB can use an index range for a comparison with time.Now().
func TestMySQLTruncatesTimesToMicroseconds(t *testing.T) {
	for url, want := range map[string]time.Duration{
		"mysql://root@127.0.0.1/app":                  time.Microsecond,
		"mysql://root@127.0.0.1/app?timeTruncate=1ms": time.Millisecond,
	} {
		cfg, err := database.MySQLConfig(url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		// The setting is unexported; the DSN it formats shows it.
		if dsn := cfg.FormatDSN(); !strings.Contains(dsn, "timeTruncate="+want.String()) {
			t.Errorf("%s: %s, want timeTruncate=%v", url, dsn, want)
		}
	}
}

// Text that escaping could get wrong (quotes, backslashes, NUL, 4-byte
// characters, a byte sequence that is 0x5c-trailing in sjis) round-trips
// exactly through interpolated statements on the real server.
func TestMySQLInterpolatedArgumentsRoundTrip(t *testing.T) {
	if os.Getenv("FRONTDESK_TEST_DATABASE_URL") == "" {
		t.Skip("needs MySQL (FRONTDESK_TEST_DATABASE_URL)")
	}
	db := testenv.DB(t, database.Options{})
	ctx := context.Background()
	if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE dsn_probe (id INT PRIMARY KEY, s TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	want := "O'Brien \\' \" \\\\ `x` \x00 \u8868 \U0001F375 ' OR '1'='1 \\"
	if _, err := db.SQL.ExecContext(ctx, "INSERT INTO dsn_probe (id, s) VALUES (?, ?)", 1, want); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.SQL.QueryRowContext(ctx, "SELECT s FROM dsn_probe WHERE s = ?", want).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("round trip: %q, want %q", got, want)
	}
}
