package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fakeRows is a table of n deletable rows; its sweep records each batch.
type fakeRows struct {
	n       int
	batches []int
	failAt  int // fail on this call (1-based) after deleting its batch; 0 never
}

func (f *fakeRows) sweep(_ context.Context, _ time.Time, limit int) (int, error) {
	d := min(f.n, limit)
	f.n -= d
	f.batches = append(f.batches, d)
	if len(f.batches) == f.failAt {
		return d, errors.New("database went away")
	}
	return d, nil
}

// TestDrainDeletesInBoundedBatches: Drain asks for at most batch rows at a
// time and stops at the first short batch.
func TestDrainDeletesInBoundedBatches(t *testing.T) {
	for _, tt := range []struct {
		rows, batch int
		want        string
	}{
		{7, 3, "[3 3 1]"},
		{6, 3, "[3 3 0]"},
		{0, 500, "[0]"},
		{2, 500, "[2]"},
	} {
		f := &fakeRows{n: tt.rows}
		n, err := Drain(context.Background(), f.sweep, time.Now(), tt.batch)
		if err != nil || n != tt.rows || fmt.Sprint(f.batches) != tt.want {
			t.Errorf("%d rows in batches of %d: deleted %d in %v (%v), want %s", tt.rows, tt.batch, n, f.batches, err, tt.want)
		}
	}
	// An error stops it and reports what was deleted before.
	f := &fakeRows{n: 10, failAt: 2}
	if n, err := Drain(context.Background(), f.sweep, time.Now(), 3); err == nil || n != 6 || f.n != 4 {
		t.Fatalf("failing sweep: deleted %d, %v, %d left", n, err, f.n)
	}
	// So does the end of the job's deadline.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := Drain(ctx, (&fakeRows{n: 10}).sweep, time.Now(), 3); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("cancelled: deleted %d, %v", n, err)
	}
}

// TestRegisterRetention: a retention declares a nightly task whose
// handler drains the sweep up to now minus the retention, in batches of
// SweepBatch; a retention of 0 declares nothing.
func TestRegisterRetention(t *testing.T) {
	reg := NewRegistry()
	RegisterRetention(reg, "test.never", "5 3 * * *", 0, (&fakeRows{}).sweep)
	if len(reg.Tasks()) != 0 {
		t.Fatalf("retention 0 declared %v", reg.Tasks())
	}
	var befores []time.Time
	f := &fakeRows{n: 1200}
	RegisterRetention(reg, "test.prune", "5 3 * * *", 48*time.Hour, func(ctx context.Context, before time.Time, limit int) (int, error) {
		befores = append(befores, before)
		return f.sweep(ctx, before, limit)
	})
	tasks := reg.Tasks()
	if len(tasks) != 1 || tasks[0].Name != "test.prune" || tasks[0].Schedule.spec != "5 3 * * *" {
		t.Fatalf("tasks %+v", tasks)
	}
	start := time.Now()
	if err := reg.kinds["test.prune"].Handler(context.Background(), &Running{}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.batches) != "[500 500 200]" || f.n != 0 {
		t.Fatalf("batches %v, %d left", f.batches, f.n)
	}
	end := time.Now()
	if b := befores[0]; b.After(end.Add(-48*time.Hour)) || b.Before(start.Add(-48*time.Hour-time.Microsecond)) || b.Location() != time.UTC {
		t.Fatalf("swept before %v, want now minus 48h in UTC", b)
	}
}
