package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkMemoryUnderAttack is issue 14's "memory under attack comes
// back": the real server (production settings) takes b.N rounds of what
// grows caches and per-key state — every adversarial document with a
// unique comment (so the parsed-query cache never hits), a distinct valid
// document, a distinct persisted query registered through APQ, and a
// made-up bearer token — and reports the Go heap in use after a forced
// collection and the process's resident size, before and after. With the
// byte caps the heap after the attack stays near the caps however many
// rounds are sent; the in-process load generator shares the process, so
// the figures are an upper bound of the server's.
func BenchmarkMemoryUnderAttack(b *testing.B) {
	base := startCost(b, nil)
	set := adversarialSet()
	heap0, rss0 := retainedMemory(b)
	b.ResetTimer()
	for i := range b.N {
		for _, a := range set {
			a.body = uniqueComment(a, i)
			sendAdversarial(b, base, a)
		}
		query := fmt.Sprintf("query Q%d { __typename products(first: 1) { totalCount } }", i)
		sum := sha256.Sum256([]byte(query))
		apq := gqlBodyExt(query, map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}})
		post(b, base, apq, "")
		post(b, base, gqlBody(fmt.Sprintf("{ __typename # %d\n}", i), nil), "Bearer fds_"+strconv.Itoa(i)+strings.Repeat("x", 40))
	}
	b.StopTimer()
	heap1, rss1 := retainedMemory(b)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(heap0, "heap-before-MiB")
	b.ReportMetric(heap1, "heap-after-MiB")
	b.ReportMetric(rss0, "rss-before-MiB")
	b.ReportMetric(rss1, "rss-after-MiB")
}

// uniqueComment makes round i's copy of a distinct from every other
// round's, as a comment an attacker adds to defeat the query cache.
func uniqueComment(a adversarial, i int) string {
	if a.method == "GET" {
		return fmt.Sprintf("# %d\n%s", i, a.body)
	}
	// JSON bodies: put the comment at the start of the query string when
	// there is one; other bodies (malformed JSON) are sent as they are.
	if k := strings.Index(a.body, `"query":"`); k >= 0 {
		k += len(`"query":"`)
		return a.body[:k] + fmt.Sprintf(`# %d\n`, i) + a.body[k:]
	}
	return a.body
}

func gqlBodyExt(query string, ext map[string]any) string {
	return benchJSONString(map[string]any{"query": query, "extensions": ext})
}

func benchJSONString(v any) string { return string(benchJSON(v)) }

func post(tb testing.TB, base, body, auth string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// retainedMemory is the Go heap in use after a collection and the
// process's resident set, both in MiB.
func retainedMemory(tb testing.TB) (heap, rss float64) {
	tb.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				tb.Fatal(err)
			}
			rss = float64(kb) / 1024
		}
	}
	return float64(ms.HeapInuse) / (1 << 20), rss
}
