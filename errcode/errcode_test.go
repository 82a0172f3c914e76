package errcode

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var errSample = New(NotFound, "order not found")

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"sentinel", errSample, NotFound},
		{"wrapped sentinel", fmt.Errorf("load order: %w", errSample), NotFound},
		{"user error", Invalidf(Taken, "slug", "taken"), BadUserInput},
		{"plain", errors.New("disk on fire"), Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsMatchesWrappedCopies(t *testing.T) {
	err := fmt.Errorf("ctx: %w", errSample.Wrap(errors.New("sql: no rows")))
	if !errors.Is(err, errSample) {
		t.Fatal("errors.Is did not match a wrapped copy of the sentinel")
	}
}

func TestAsUserErrors(t *testing.T) {
	list := UserErrors{Invalidf(Required, "input.email", "is required"), Invalidf(TooLong, "name", "too long")}
	got, ok := AsUserErrors(fmt.Errorf("validate: %w", list))
	if !ok {
		t.Fatal("list not recognised")
	}
	if diff := cmp.Diff([]*UserError(list), got); diff != "" {
		t.Fatal(diff)
	}
	if _, ok := AsUserErrors(errors.New("boom")); ok {
		t.Fatal("plain error recognised as user error")
	}
	if UserErrors(nil).OrNil() != nil {
		t.Fatal("empty list is not nil")
	}
}
