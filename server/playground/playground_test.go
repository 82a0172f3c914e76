package playground

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestPlaygroundIsSelfContained(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	page := get(t, h, "/")
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	// Everything the page loads comes from the server itself.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if len(refs) < 3 {
		t.Fatalf("page references %d assets:\n%s", len(refs), body)
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref[1], "/") || strings.HasPrefix(ref[1], "//") {
			t.Errorf("page loads %q from elsewhere", ref[1])
			continue
		}
		if res := get(t, h, ref[1]); res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", ref[1], res.StatusCode)
		}
	}
	csp := page.Header.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Fatalf("CSP allows other origins: %q", csp)
	}
	for _, worker := range []string{"editor", "json", "graphql"} {
		if res := get(t, h, "/playground/"+worker+".worker.js", "Accept-Encoding", "gzip"); res.StatusCode != http.StatusOK {
			t.Errorf("%s worker: status %d", worker, res.StatusCode)
		}
	}
}

func TestFavicon(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/favicon.ico")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/x-icon" || !bytes.HasPrefix(body, []byte{0, 0, 1, 0}) {
		t.Fatalf("favicon: %d %s % x", res.StatusCode, res.Header.Get("Content-Type"), body[:min(len(body), 8)])
	}
}

// TestCompression: gzip-capable clients get the stored bytes; the rest get
// them decompressed; a revalidation with the ETag is a 304.
func TestCompression(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	zipped := get(t, h, "/playground/main.js", "Accept-Encoding", "br, gzip")
	if zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", zipped.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, ae := range []string{"", "identity", "gzip;q=0"} {
		plain := get(t, h, "/playground/main.js", "Accept-Encoding", ae)
		body, _ := io.ReadAll(plain.Body)
		if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, unzipped) {
			t.Fatalf("Accept-Encoding %q: encoding %q, %d bytes, want %d plain", ae, plain.Header.Get("Content-Encoding"), len(body), len(unzipped))
		}
	}
	if !bytes.Contains(unzipped, []byte("graphql-transport-ws")) {
		t.Fatal("the bundle does not speak graphql-transport-ws")
	}
	etag := zipped.Header.Get("ETag")
	if res := get(t, h, "/playground/main.js", "If-None-Match", etag); etag == "" || res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation with ETag %q: status %d", etag, res.StatusCode)
	}
	if res := get(t, h, "/playground/nope.js"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown asset: status %d", res.StatusCode)
	}
}
