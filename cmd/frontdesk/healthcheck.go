package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck asks the server on this machine whether it is ready: GET
// /readyz on FRONTDESK_ADDR, an unspecified host (0.0.0.0, ::, empty)
// read as loopback. Anything but 200 fails, so a draining replica or one
// whose database or Redis is down reports unhealthy. Container images
// without curl use it as their HEALTHCHECK; it reads no other setting, so
// it works with whatever configuration the server has.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	addr := getenv("FRONTDESK_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	url, err := readyzURL(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", url, resp.StatusCode, body)
	}
	return nil
}

// readyzURL is the /readyz URL of a server listening on addr.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: FRONTDESK_ADDR %q: %w", addr, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.To4() != nil && ip.IsUnspecified()):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
