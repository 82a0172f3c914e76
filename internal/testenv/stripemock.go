package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var stripeMock struct {
	once sync.Once
	url  string
	err  error
}

// StripeMock returns the base URL of a stripe-mock server on loopback,
// started once per test binary and killed with it. `make tools` installs
// the pinned stripe-mock into .bin; the test fails when it is missing.
func StripeMock(t testing.TB) string {
	t.Helper()
	stripeMock.once.Do(func() { stripeMock.url, stripeMock.err = startStripeMock() })
	if stripeMock.err != nil {
		t.Fatalf("stripe-mock: %v (run `make tools`)", stripeMock.err)
	}
	return stripeMock.url
}

func startStripeMock() (string, error) {
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		root, rerr := repoRoot()
		if rerr != nil {
			return "", rerr
		}
		bin = filepath.Join(root, ".bin", "stripe-mock")
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("not installed: %w", err)
		}
	}
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	httpsAddr, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	// Both addresses on loopback, or stripe-mock opens HTTPS on all
	// interfaces.
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	url := "http://" + httpAddr
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/v1/balance")
		if err == nil {
			resp.Body.Close()
			return url, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return "", fmt.Errorf("did not answer on %s within 20s", url)
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}
