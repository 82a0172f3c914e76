package backup

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/internal/testenv"
)

// BenchmarkBackupRestore backs up a large seeded catalog (SeedLarge,
// BACKUP_BENCH_PRODUCTS products, default 10,000) to a file and restores
// it into a fresh database, reporting each half's time, the file size
// and the row count. See docs/benchmarks.md.
func BenchmarkBackupRestore(b *testing.B) {
	ctx := context.Background()
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("BACKUP_BENCH_PRODUCTS")); err == nil && v > 0 {
		n = v
	}
	src := testenv.DB(b, database.Options{})
	if _, err := catalog.New(src.Client, src.Dialect, nil, nil, catalog.Options{}).SeedLarge(ctx, n); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.zip")
	var backupTime, restoreTime time.Duration
	var size, rows int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dst := testenv.DB(b, database.Options{})
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		m, err := Write(ctx, src, f, time.Now())
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		backupTime += time.Since(start)
		start = time.Now()
		if _, err := RestoreFile(ctx, dst, path, RestoreOptions{}); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(start)
		b.StopTimer()
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size, rows = fi.Size(), m.Rows()
	}
	b.ReportMetric(float64(backupTime.Milliseconds())/float64(b.N), "backup-ms")
	b.ReportMetric(float64(restoreTime.Milliseconds())/float64(b.N), "restore-ms")
	b.ReportMetric(float64(size)/1e6, "MB")
	b.ReportMetric(float64(rows), "rows")
}
