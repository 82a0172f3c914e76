package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

var (
	up   = pingFunc(func(context.Context) error { return nil })
	down = pingFunc(func(context.Context) error { return errors.New("connection refused") })
	// hung ignores its context, as a stalled dependency's client might.
	hung = pingFunc(func(context.Context) error { time.Sleep(5 * time.Second); return nil })
)

// TestReadyz: the checks run side by side, each within its own deadline,
// so the answer comes within a second even when dependencies hang; it
// names what is down; and a degradable dependency (Redis) being down
// leaves the replica ready.
func TestReadyz(t *testing.T) {
	type body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
		Down   []string          `json:"down"`
	}
	for _, tc := range []struct {
		name       string
		ready      map[string]Pinger
		degradable map[string]Pinger
		draining   bool
		code       int
		want       body
	}{
		{"all up", map[string]Pinger{"database": up}, map[string]Pinger{"redis": up}, false,
			200, body{"ok", map[string]string{"database": "ok", "redis": "ok"}, []string{}}},
		{"redis down: degraded but ready", map[string]Pinger{"database": up}, map[string]Pinger{"redis": down}, false,
			200, body{"degraded", map[string]string{"database": "ok", "redis": "unavailable"}, []string{"redis"}}},
		{"redis hung: degraded but ready", map[string]Pinger{"database": up}, map[string]Pinger{"redis": hung}, false,
			200, body{"degraded", map[string]string{"database": "ok", "redis": "unavailable"}, []string{"redis"}}},
		{"database down, redis up: only the database is named", map[string]Pinger{"database": down}, map[string]Pinger{"redis": up}, false,
			503, body{"unavailable", map[string]string{"database": "unavailable", "redis": "ok"}, []string{"database"}}},
		{"both hung", map[string]Pinger{"database": hung}, map[string]Pinger{"redis": hung}, false,
			503, body{"unavailable", map[string]string{"database": "unavailable", "redis": "unavailable"}, []string{"database", "redis"}}},
		{"draining", map[string]Pinger{"database": up}, nil, true,
			503, body{"unavailable", map[string]string{"database": "ok", "server": "shutting down"}, []string{"server"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{deps: Deps{Ready: tc.ready, Degradable: tc.degradable, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
			s.draining.Store(tc.draining)
			w := httptest.NewRecorder()
			start := time.Now()
			s.readyz(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if took := time.Since(start); took > time.Second {
				t.Fatalf("answered after %s, want under 1s", took)
			}
			var got body
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.code, w.Body)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("body (-want +got):\n%s", diff)
			}
		})
	}
}
