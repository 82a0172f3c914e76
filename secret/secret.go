// Package secret finds credentials in text that the API shows to someone
// other than their owner, and blanks them: emailed links with a token
// (password reset, email verification, booking manage and intake links),
// bare Frontdesk tokens (fds_ sessions, fdk_ API keys, fdt_ one-time
// tokens) and the values of keys named like secrets in JSON documents
// (job payloads, audit before/after values).
//
// It is a leaf package so that every place a stored text leaves the
// server (sent messages, jobs, the audit log, sync records) redacts the
// same way. Redaction is a second line: the first is not storing a secret
// in readable form where the API can reach it. Where a secret must be
// stored for later delivery (an outbox job that still has to send the
// link), reads go through here.
package secret

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// Mask replaces a secret value.
const Mask = "[redacted]"

// queryParam matches a parameter whose name says it carries a credential
// (token, access_token, $deltatoken, code, api_key, apiKey, client_secret,
// password, sig, X-Amz-Signature, X-Amz-Credential…), in a URL (?token=,
// &token=), HTML (&amp;token=), JSON-escaped text (\u0026token=) or a
// form-encoded body or log line (password=… at the start or after white
// space). Its value runs to the next separator.
var queryParam = regexp.MustCompile(`(?i)(^|[?&;\s,({]|\\u0026)([a-z0-9_$.-]*(?:token|code|key|secret|password|passwd|sig|signature|otp|credential))=([^&\s"'<>#\\,;)]+)`)

// bareToken matches Frontdesk's own tokens wherever they appear: fds_
// sessions, fdk_ API keys and fdt_ one-time tokens carry 43 base64url
// characters; anything of 16 or more is treated as one. whsec_ webhook
// signing secrets and Stripe's secret and restricted keys (sk_live_,
// rk_test_…) are matched the same way.
var bareToken = regexp.MustCompile(`\b(fd[skt]_|whsec_|[sr]k_(?:live|test)_)[A-Za-z0-9_+/=-]{16,}`)

// authScheme matches the credentials of an Authorization header (or an
// error that quotes one): Bearer anywhere, whatever the token's shape;
// Basic only after "Authorization:", since "basic" is an ordinary word.
var authScheme = regexp.MustCompile(`(?i)(\bbearer|\bauthorization\s*:\s*basic)(\s+)[A-Za-z0-9._~+/=-]{8,}`)

// headerValue matches header-style credentials in text: api-key: …,
// X-Api-Key: …, client_secret: … (an OAuth error that echoes its form).
var headerValue = regexp.MustCompile(`(?i)\b((?:x-)?(?:api[-_]?key|auth[-_]?token|access[-_]?token|refresh[-_]?token|client[-_]?secret|password))(\s*:\s*)[^\s",;]{4,}`)

// jsonValue matches a JSON member whose key names a secret inside text
// that is not itself parsed as JSON (an error quoting a response body):
// "access_token":"…", "client_secret": "…".
var jsonValue = regexp.MustCompile(`(?i)("[a-z0-9_-]*(?:token|secret|password|apikey|api_key|signature)[a-z0-9_-]*"\s*:\s*")(?:[^"\\]|\\.)*"`)

// userInfo matches the credentials of a URL (https://user:pass@host/,
// https://token@host/).
var userInfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#"'<>]+@`)

// jwt matches a JSON Web Token (Microsoft Graph access tokens, id tokens).
var jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)

// Redact returns s with every credential it recognises replaced by Mask:
// Frontdesk's tokens and links, Authorization headers, URLs with a user
// and password, JWTs, webhook secrets and Stripe keys. It is the filter
// for every stored text the API shows that may quote a request, a link or
// an outside service's answer: sent messages, job errors, calendar and
// EHR sync errors, the audit log.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = jsonValue.ReplaceAllString(s, "${1}"+Mask+`"`)
	s = userInfo.ReplaceAllString(s, "${1}"+Mask+"@")
	s = queryParam.ReplaceAllString(s, "${1}${2}="+Mask)
	s = bareToken.ReplaceAllString(s, "${1}"+Mask)
	s = jwt.ReplaceAllString(s, Mask)
	s = authScheme.ReplaceAllString(s, "${1}${2}"+Mask)
	return headerValue.ReplaceAllString(s, "${1}${2}"+Mask)
}

// sensitiveKey reports whether a JSON key names a secret, such as
// "token", "manageToken", "password_hash" or "clientSecret".
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "password", "secret", "hash", "otp", "apikey", "api_key", "clientstate", "client_state"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Value redacts a decoded JSON value: strings are passed through Redact,
// and the values of keys that name a secret are masked whole.
func Value(v any) any {
	switch x := v.(type) {
	case string:
		return Redact(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if sensitiveKey(k) && e != nil {
				out[k] = Mask
				continue
			}
			out[k] = Value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	default:
		return v
	}
}

// JSON redacts a JSON document. A document that does not parse is
// redacted as text, so nothing passes unredacted.
func JSON(doc []byte) []byte {
	if len(doc) == 0 {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(Redact(string(doc)))
	}
	out, err := json.Marshal(Value(v))
	if err != nil {
		return []byte(Redact(string(doc)))
	}
	return out
}
