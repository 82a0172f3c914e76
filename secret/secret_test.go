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
		// Outside services' errors (Microsoft Graph, MediRecords, SMTP)
		// quote requests and answers.
		{"bearer header", "401 from graph: Authorization: Bearer eyJ0eXAiOiJKV1Qi.abc~def/ghi+jkl=",
			"401 from graph: Authorization: Bearer [redacted]"},
		{"basic header", "request had Authorization: Basic dXNlcjpwYXNzd29yZA==", "request had Authorization: Basic [redacted]"},
		{"basic as a word kept", "a basic consultation, bearer of", "a basic consultation, bearer of"},
		{"jwt alone", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig-nat_ure expired",
			"token [redacted] expired"},
		{"url with user and password", `Post "https://svc:hunter2@ehr.example/api/patients": EOF`, `Post "https://[redacted]@ehr.example/api/patients": EOF`},
		{"url with a token as user", "git https://ghp_abcdef123456@host.example/x", "git https://[redacted]@host.example/x"},
		{"oauth params", "POST https://login.example/token?client_id=abc&client_secret=s3cr3t&refresh_token=r1 failed",
			"POST https://login.example/token?client_id=abc&client_secret=[redacted]&refresh_token=[redacted] failed"},
		{"camel case and dollar params", "GET /delta?$deltatoken=abc123&accessToken=x1&X-Amz-Signature=ff&X-Amz-Credential=AKIA/1",
			"GET /delta?$deltatoken=[redacted]&accessToken=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]"},
		{"form body", "body: grant_type=password&username=a&password=hunter2", "body: grant_type=password&username=a&password=[redacted]"},
		{"json body in an error", `400: {"error":"invalid_grant","access_token":"at-1","client_secret": "cs\"1"}`,
			`400: {"error":"invalid_grant","access_token":"[redacted]","client_secret": "[redacted]"}`},
		{"header style", "sent X-Api-Key: k-123456 and api_key: abcdef", "sent X-Api-Key: [redacted] and api_key: [redacted]"},
		{"webhook secret and stripe keys", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw sk_live_51H8abcdefghijklmnop rk_test_abcdefghijklmnop12",
			"whsec_[redacted] sk_live_[redacted] rk_test_[redacted]"},
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
