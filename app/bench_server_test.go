package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"frontdesk/app"
)

// serveForBench serves a on a loopback port until the benchmark ends and
// returns its /graphql URL.
func serveForBench(b testing.TB, a *app.App) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Server.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-served
	})
	return "http://" + ln.Addr().String() + "/graphql"
}

// ceilingForBench is the ceiling of a side-by-side benchmark: plain
// net/http on loopback writing body()'s bytes to every request, until the
// benchmark ends. It returns its URL.
func ceilingForBench(b *testing.B, body func() []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body())
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = plain.Serve(ln) }()
	b.Cleanup(func() { _ = plain.Close() })
	return "http://" + ln.Addr().String() + "/"
}
