package secret_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"frontdesk/secret"
)

func TestRedact(t *testing.T) {
	tok := "fdt_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
	tests := []struct{ name, in, want string }{
		{"reset link", "Open https://app.example/reset-password?token=" + tok + " now",
			"Open https://app.example/reset-password?token=[redacted] now"},
		{"manage link second param", "https://app.example/manage?appointment=apt_1&token=q9Zx-_abc",
			"https://app.example/manage?appointment=apt_1&token=[redacted]"},
		{"html attribute", `<a href="https://app.example/intake?appointment=apt_1&amp;token=q9Zx">`,
			`<a href="https://app.example/intake?appointment=apt_1&amp;token=[redacted]">`},
		{"json escaped ampersand", `"https://a.example/m?x=1\u0026token=abc"`, `"https://a.example/m?x=1\u0026token=[redacted]"`},
		{"other credential params", "?code=123456&api_key=k1&signature=s&Page=2", "?code=[redacted]&api_key=[redacted]&signature=[redacted]&Page=2"},
		{"bare session token", "Bearer fds_" + tok[4:], "Bearer fds_[redacted]"},
		{"bare api key", "key fdk_0123456789abcdefXYZ.", "key fdk_[redacted]."},
		{"short prefix-like word kept", "fdk_abc and fdt_", "fdk_abc and fdt_"},
		{"no secret", "Booked: Initial with Dr Ada, Mon 9:00. https://app.example/book?service=initial",
			"Booked: Initial with Dr Ada, Mon 9:00. https://app.example/book?service=initial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, secret.Redact(tc.in)); diff != "" {
				t.Errorf("Redact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	in := `{"kind":"password_reset","to":"a@b.example","text":"https://x.example/reset-password?token=fdt_0123456789abcdefghij",` +
		`"data":{"manageLink":"https://x.example/manage?appointment=apt_1&token=zz","manageToken":"zz","count":3,"list":["fdk_0123456789abcdefghij"]},` +
		`"idempotencyKey":"email:k1","passwordHash":"$argon2id$v"}`
	want := `{"data":{"count":3,"list":["fdk_[redacted]"],"manageLink":"https://x.example/manage?appointment=apt_1\u0026token=[redacted]","manageToken":"[redacted]"},` +
		`"idempotencyKey":"email:k1","kind":"password_reset","passwordHash":"[redacted]","text":"https://x.example/reset-password?token=[redacted]","to":"a@b.example"}`
	if diff := cmp.Diff(want, string(secret.JSON([]byte(in)))); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	// A document that does not parse is still redacted, as text.
	if got := string(secret.JSON([]byte(`{"text":"?token=abc"`))); got != `{"text":"?token=[redacted]"` {
		t.Errorf("broken JSON: %s", got)
	}
}
