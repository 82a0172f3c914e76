package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
	"frontdesk/payments"
)

const secret = "whsec_test_secret"

type harness struct {
	h     WebhookHandler
	db    *database.DB
	logs  *bytes.Buffer
	calls atomic.Int64
	fail  atomic.Bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	hs := &harness{db: db, logs: logs}
	wh := payments.NewWebhooks(db.Client, log)
	wh.On(payments.IntentSucceeded, func(ctx context.Context, tx *ent.Tx, ev payments.Event) error {
		if hs.fail.Load() {
			return errors.New("downstream failure")
		}
		if ev.Metadata["order_id"] != "ord_1" || ev.Amount != 4599 || ev.Currency != "AUD" {
			return errors.New("event fields not converted")
		}
		hs.calls.Add(1)
		return nil
	})
	hs.h = WebhookHandler{Secret: secret, Tolerance: 5 * time.Minute, Webhooks: wh, Log: log}
	return hs
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func eventJSON(id, typ string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": "2023-10-16", "created": time.Now().Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": "pi_123", "object": "payment_intent", "amount": 4599, "currency": "aud",
			"metadata": map[string]string{"order_id": "ord_1"},
		}},
	})
	return b
}

func (hs *harness) deliver(payload []byte, sigSecret string, at time.Time) int {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: sigSecret, Timestamp: at})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", signed.Header)
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	return rec.Code
}

func TestWebhookProcessesEachEventOnce(t *testing.T) {
	hs := newHarness(t)
	payload := eventJSON("evt_1", "payment_intent.succeeded")
	for range 3 {
		if code := hs.deliver(payload, secret, time.Now()); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if n := hs.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

func TestWebhookConcurrentDuplicates(t *testing.T) {
	hs := newHarness(t)
	payload := eventJSON("evt_race", "payment_intent.succeeded")
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- hs.deliver(payload, secret, time.Now())
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK && c != http.StatusInternalServerError {
			t.Fatalf("status %d", c)
		}
	}
	// A 500 (lock contention) makes Stripe redeliver; after that the
	// event must have been handled exactly once.
	if code := hs.deliver(payload, secret, time.Now()); code != http.StatusOK {
		t.Fatalf("redelivery status %d", code)
	}
	if n := hs.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

func TestWebhookRejectsForgedAndStale(t *testing.T) {
	hs := newHarness(t)
	payload := eventJSON("evt_2", "payment_intent.succeeded")
	if code := hs.deliver(payload, "whsec_someone_else", time.Now()); code != http.StatusBadRequest {
		t.Fatalf("forged: status %d", code)
	}
	if code := hs.deliver(payload, secret, time.Now().Add(-time.Hour)); code != http.StatusBadRequest {
		t.Fatalf("stale: status %d", code)
	}
	if hs.calls.Load() != 0 {
		t.Fatal("a rejected event reached the handler")
	}
	if !strings.Contains(hs.logs.String(), "stripe webhook rejected") {
		t.Fatal("rejection not logged")
	}
	n, err := hs.db.Client.WebhookEvent.Query().Count(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("recorded %d events (%v)", n, err)
	}
}

func TestWebhookFailureIsRetried(t *testing.T) {
	hs := newHarness(t)
	payload := eventJSON("evt_3", "payment_intent.succeeded")
	hs.fail.Store(true)
	if code := hs.deliver(payload, secret, time.Now()); code != http.StatusInternalServerError {
		t.Fatalf("failing handler: status %d", code)
	}
	hs.fail.Store(false)
	if code := hs.deliver(payload, secret, time.Now()); code != http.StatusOK {
		t.Fatalf("retry: status %d", code)
	}
	if hs.calls.Load() != 1 {
		t.Fatalf("handler ran %d times after retry", hs.calls.Load())
	}
}

func TestWebhookIgnoresUnsubscribedTypes(t *testing.T) {
	hs := newHarness(t)
	if code := hs.deliver(eventJSON("evt_4", "customer.created"), secret, time.Now()); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
}
