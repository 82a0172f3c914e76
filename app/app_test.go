package app_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"frontdesk/app"
	"frontdesk/internal/testenv"
)

// FRONTDESK_WORKER_CONCURRENCY may name the job kind of any domain: the
// worker is built after every domain registered its kinds. (It was built
// before booking, catalog and commerce, which made their kinds unknown.)
func TestWorkerConcurrencyNamesAnyKind(t *testing.T) {
	cfg := testenv.Config(t)
	cfg.WorkerConcurrency = map[string]int{"commerce.refund": 3, "booking.cancel_intent": 2, "calendar.delta": 1}
	a, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "error"), app.Options{})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	defer a.Close()
	for kind := range cfg.WorkerConcurrency {
		found := false
		for _, n := range a.Jobs.Names() {
			found = found || n == kind
		}
		if !found {
			t.Fatalf("job kind %s is not registered (known: %s)", kind, strings.Join(a.Jobs.Names(), ", "))
		}
	}
	cfg.WorkerConcurrency = map[string]int{"no.such.kind": 1}
	if _, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "error"), app.Options{}); err == nil || !strings.Contains(err.Error(), "no.such.kind") {
		t.Fatalf("unknown kind: err = %v", err)
	}
}
