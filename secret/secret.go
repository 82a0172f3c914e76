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

// queryParam matches a URL query parameter whose name says it carries a
// credential, in plain text (?token=, &token=), HTML (&amp;token=) and
// JSON-escaped text (\u0026token=). Its value runs to the next separator.
var queryParam = regexp.MustCompile(`(?i)([?&;]|\\u0026)((?:[a-z_]*_)?(?:token|code|key|secret|password|sig|signature|otp))=([^&\s"'<>#\\]+)`)

// bareToken matches Frontdesk's own tokens wherever they appear: fds_
// sessions, fdk_ API keys and fdt_ one-time tokens carry 43 base64url
// characters; anything of 16 or more is treated as one.
var bareToken = regexp.MustCompile(`\b(fd[skt]_)[A-Za-z0-9_-]{16,}`)

// Redact returns s with every credential it recognises replaced by Mask.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = queryParam.ReplaceAllString(s, "${1}${2}="+Mask)
	return bareToken.ReplaceAllString(s, "${1}"+Mask)
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
