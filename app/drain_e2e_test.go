package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"frontdesk/config"
)

// During FRONTDESK_DRAIN_DELAY a stopping replica fails /readyz but still
// accepts connections and answers requests, so a load balancer takes it
// out before anything is refused (rolling restarts without errors).
func TestDrainDelayServesWhileReadyzFails(t *testing.T) {
	s := start(t, func(c *config.Config) { c.DrainDelay = 5 * time.Second })
	// A fresh connection per request shows the listener is still open.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	get := func(path string) int {
		resp, err := client.Get(s.base + path)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before stopping: %d", code)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	code := 0
	for i := 0; i < 500 && code != http.StatusServiceUnavailable; i++ {
		if code = get("/readyz"); code != http.StatusServiceUnavailable {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d, want 503 (-1: connection refused)", code)
	}
	resp, err := client.Post(s.base+"/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
	if err != nil {
		t.Fatalf("request while draining: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request while draining: %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
