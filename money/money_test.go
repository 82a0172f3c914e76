package money

import (
	"errors"
	"testing"
)

func TestFormattedAndRate(t *testing.T) {
	tests := []struct {
		m    Money
		bps  int64
		want string
	}{
		{Money{1250, "AUD"}, 0, "A$12.50"},
		{Money{1250, "AUD"}, 1000, "A$13.75"},
		{Money{5, "USD"}, 1000, "$0.06"}, // 0.5 rounds up
		{Money{-199, "EUR"}, 0, "-€1.99"},
		{Money{1200, "JPY"}, 0, "¥1200"},
		{Money{1234, "KWD"}, 0, "KWD 1.234"},
	}
	for _, tt := range tests {
		if got := tt.m.AddRate(tt.bps).Formatted(); got != tt.want {
			t.Errorf("%+v +%d bps: got %q, want %q", tt.m, tt.bps, got, tt.want)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	if c, err := ParseCurrency(" aud"); err != nil || c != "AUD" {
		t.Fatalf("got %q %v", c, err)
	}
	if _, err := ParseCurrency("XYZ"); !errors.Is(err, ErrCurrency) {
		t.Fatalf("XYZ: got %v", err)
	}
}
