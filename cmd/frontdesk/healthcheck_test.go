package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyzURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"[::]:9000":      "http://[::1]:9000/readyz",
		"10.0.0.7:8080":  "http://10.0.0.7:8080/readyz",
		"127.0.0.1:8081": "http://127.0.0.1:8081/readyz",
	} {
		got, err := readyzURL(addr)
		if err != nil || got != want {
			t.Errorf("readyzURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := readyzURL("8080"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"unavailable","checks":{"server":"shutting down"}}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	env := func(k string) string {
		if k == "FRONTDESK_ADDR" {
			return "0.0.0.0:" + port
		}
		return ""
	}
	if err := healthcheck(context.Background(), env); err != nil {
		t.Fatalf("ready server: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(context.Background(), env); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("draining server: %v, want an error that says why", err)
	}
	srv.Close()
	if err := healthcheck(context.Background(), env); err == nil {
		t.Fatal("no server: healthy")
	}
}
