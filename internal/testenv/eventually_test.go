package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeTB records a failure instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f) // as t.Fatalf, end the caller
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, "third call", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times", n)
	}
	f := &fakeTB{}
	func() {
		defer func() { _ = recover() }()
		Eventually(f, 30*time.Millisecond, "never", func() bool { return false })
	}()
	if !strings.Contains(f.failed, "never") {
		t.Fatalf("a condition never reached did not fail the test (%q)", f.failed)
	}
}
