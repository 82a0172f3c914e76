package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"frontdesk/config"
	"frontdesk/ent"
)

// behindProxy makes the server believe X-Forwarded-For from loopback, so
// one test process can speak for many client IPs.
func behindProxy(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// postFrom posts an operation as client ip and decodes the answer; it
// returns errors instead of failing, so goroutines can call it.
func (s *running) postFrom(ip, query string, vars map[string]any, headers ...string) (gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqlResponse{}, err
	}
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, err
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return gqlResponse{}, fmt.Errorf("status %d, not JSON: %s", resp.StatusCode, raw)
	}
	out.status, out.header = resp.StatusCode, resp.Header
	return out, nil
}

// clinic creates a practitioner working 09:00-17:00 in Sydney every day
// and a free 30-minute service, and returns them with the day after
// tomorrow's 09:00.
func (s *running) clinic(t *testing.T) (*ent.Practitioner, *ent.Service, time.Time) {
	t.Helper()
	ctx := context.Background()
	c := s.app.DB.Client
	prac := c.Practitioner.Create().SetName("Dr Ada").SetTimeZone("Australia/Sydney").SaveX(ctx)
	for d := 0; d < 7; d++ {
		c.WeeklyHours.Create().SetPractitionerID(prac.ID).SetWeekday(d).SetStartMinute(9 * 60).SetEndMinute(17 * 60).ExecX(ctx)
	}
	svc := c.Service.Create().SetName("Follow-up").SetSlug("follow-up").SetDurationMinutes(30).
		SetSlotIntervalMinutes(30).AddPractitioners(prac).SaveX(ctx)
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(sydney).AddDate(0, 0, 2)
	return prac, svc, time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, sydney)
}

// TestAnonymousHoldCapPerClientIP: through the server, anonymous holds
// from one client IP racing for different slots get exactly the cap; the
// rest are refused with HOLD_LIMIT_REACHED, and another client IP behind
// the same proxy still holds.
func TestAnonymousHoldCapPerClientIP(t *testing.T) {
	const limit, n = 2, 8
	s := start(t, func(c *config.Config) {
		behindProxy(c)
		c.BookingMaxAnonymousHolds = limit
	})
	prac, svc, first := s.clinic(t)
	hold := func(ip string, i int) (string, error) {
		r, err := s.postFrom(ip, opHoldSlot, map[string]any{"in": map[string]any{"serviceId": svc.ID,
			"practitionerId": prac.ID, "start": first.Add(time.Duration(i) * 30 * time.Minute).Format(time.RFC3339)}})
		if err != nil {
			return "", err
		}
		if len(r.Errors) > 0 {
			return "", fmt.Errorf("top-level errors: %+v", r.Errors)
		}
		if ue, _ := field(r, "holdSlot.userErrors").([]any); len(ue) > 0 {
			return ue[0].(map[string]any)["code"].(string), nil
		}
		if field(r, "holdSlot.appointment.state") != "HELD" {
			return "", fmt.Errorf("hold %d: %v", i, r.Data)
		}
		return "HELD", nil
	}
	var wg sync.WaitGroup
	outcomes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := hold("198.51.100.20", i)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = code
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, o := range outcomes {
		count[o]++
	}
	if count["HELD"] != limit || count["HOLD_LIMIT_REACHED"] != n-limit {
		t.Fatalf("outcomes %v; want %d HELD and %d HOLD_LIMIT_REACHED", count, limit, n-limit)
	}
	if code, err := hold("198.51.100.21", n); err != nil || code != "HELD" {
		t.Fatalf("another client IP: %s %v", code, err)
	}
}
