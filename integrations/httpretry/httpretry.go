// Package httpretry holds what the HTTP integrations (Microsoft Graph,
// MediRecords, FHIR) share about failed calls: which statuses are worth
// retrying and how long the server asked us to wait.
package httpretry

import (
	"net/http"
	"strconv"
	"time"
)

// MaxDelay bounds a server's Retry-After, so a broken or hostile header
// cannot park a job for days.
const MaxDelay = 24 * time.Hour

// Status reports whether a call that failed with this HTTP status may
// succeed later unchanged: throttling, timeouts and server faults. Other
// client errors (400, 401, 403, 404, 409, 422) need a change first.
func Status(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// After reads the response's Retry-After, in seconds or as an HTTP date,
// as a delay from now; 0 when absent, unreadable or in the past.
func After(resp *http.Response, now time.Time) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxDelay)
}
