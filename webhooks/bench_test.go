package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/database"
	"frontdesk/ent/user"
	"frontdesk/ent/webhookdelivery"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/outbox"
)

// BenchmarkDeliveryThroughput: b.N committed events, each for one
// endpoint on a loopback receiver that answers 204, are fanned out,
// signed, POSTed and logged by workers of the real outbox (as replicas
// running `serve` would: default concurrency, 16 deliveries at once per
// worker); the clock stops when every delivery is recorded SUCCEEDED.
// It reports events/s end to end (two outbox jobs, one HTTP request and
// the attempt log per event).
func BenchmarkDeliveryThroughput(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("%s/workers=%d", testenv.Name(), workers), func(b *testing.B) {
			benchDelivery(b, workers)
		})
	}
}

func benchDelivery(b *testing.B, workers int) {
	db := testenv.DB(b, database.Options{})
	ctx := context.Background()
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rc.Close)
	svc := New(db.Client, Options{Guard: Guard{AllowPrivate: true}, Log: quiet})
	u, err := db.Client.User.Create().SetEmail("admin@example.com").SetName("Admin").SetRole(user.RoleADMIN).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	admin := identity.WithViewer(ctx, &identity.Viewer{UserID: u.ID, Role: identity.RoleAdmin})
	url := rc.URL + "/hooks"
	if _, err := svc.Create(admin, EndpointInput{URL: &url, Events: []EventType{OrderPaid}}); err != nil {
		b.Fatal(err)
	}
	// The events, committed 100 to a transaction (setup, not timed).
	for i := 0; i < b.N; i += 100 {
		tx, err := db.Client.Tx(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for j := i; j < min(i+100, b.N); j++ {
			if err := Emit(ctx, tx, OrderPaid, Data{OrderID: "ord_01JD6Q7ZK3M4X9V2S8T5R1W0PC", State: "PAID"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reg := outbox.NewRegistry()
	svc.Register(reg, 0)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, workers)
	b.ResetTimer()
	start := time.Now()
	for i := range workers {
		w := outbox.NewWorker(db.Client, reg, outbox.Options{ID: fmt.Sprintf("bench-%d", i), Dialect: db.Dialect,
			PollInterval: 50 * time.Millisecond, Log: quiet})
		go func() { _ = w.Run(runCtx); done <- struct{}{} }()
	}
	for {
		n, err := db.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StateSUCCEEDED)).Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == b.N {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	for range workers {
		<-done
	}
	if int(got.Load()) != b.N {
		b.Fatalf("the receiver got %d requests for %d events", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
