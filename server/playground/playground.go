// Package playground serves the GraphiQL playground from the binary itself:
// the page, its script and styles, Monaco's web workers and the favicon are
// embedded with go:embed, so the playground works without internet access.
//
// The assets in dist/ are built from the pinned npm packages in this
// directory by `make playground` (build.mjs, esbuild); docs/getting-started.md
// says how to update them. The tabs, one per guide with its operations,
// are made at start-up from the guides embedded by package docs. They are stored gzip-compressed and sent as they
// are to every client that accepts gzip, which is every browser.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"frontdesk/docs"
)

//go:embed dist
var dist embed.FS

// welcome is the first tab's text.
//
//go:embed src/welcome.graphql
var welcome string

// contentSecurityPolicy allows what GraphiQL needs from the server itself
// and nothing else: Monaco injects style elements and loads its workers
// from /playground/, the schema and operations go to /graphql over fetch
// and WebSocket ('self' covers ws: and wss: on the same host).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type asset struct {
	body    []byte // as stored: gzip-compressed when gzipped is set
	gzipped bool
	ctype   string
	etag    string
}

// Handler serves the page at / and the assets under /playground/ and
// /favicon.ico; mount it on those paths.
type Handler struct {
	assets map[string]asset // by URL path
}

// New loads the embedded assets; it fails only if the build left dist/
// incomplete, which the package's tests catch.
func New() (*Handler, error) {
	h := &Handler{assets: map[string]asset{}}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, "dist/")
		a := asset{body: body}
		if n, ok := strings.CutSuffix(name, ".gz"); ok {
			name, a.gzipped = n, true
		}
		a.ctype = mime.TypeByExtension(path.Ext(name))
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		switch name {
		case "index.html":
			h.assets["/"] = a
		case "favicon.ico":
			a.ctype = "image/x-icon"
			h.assets["/favicon.ico"] = a
		default:
			h.assets["/playground/"+name] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("playground assets: %w", err)
	}
	// The tabs are made from the guides in the binary, so they always
	// show the operations as docs/ has them, without a rebuild.
	tabs, err := buildTabs(docs.Guides, welcome)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tabs)
	h.assets["/playground/tabs.json"] = asset{body: tabs, ctype: "application/json", etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	for _, want := range []string{"/", "/favicon.ico", "/playground/main.js", "/playground/main.css"} {
		if _, ok := h.assets[want]; !ok {
			return nil, fmt.Errorf("playground assets: %s is missing; run make playground", want)
		}
	}
	return h, nil
}

// ServeHTTP serves one asset, compressed when the client accepts gzip.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.URL.Path == "/" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
	}
	// Revalidate every time: the file names carry no version, and a
	// revalidation is a 304 without a body.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	hdr.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !a.gzipped {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
		return
	}
	if acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.body))
	if err != nil {
		http.Error(w, "corrupt playground asset", http.StatusInternalServerError)
		return
	}
	defer zr.Close()
	_, _ = io.Copy(w, zr) // the client may be gone; nothing to do
}

// acceptsGzip reports whether Accept-Encoding lists gzip (or *) with a
// non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
