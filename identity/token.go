package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Token prefixes tell credentials apart at a glance (and to secret
// scanners): fds_ session tokens, fdk_ partner API keys, fdt_ emailed
// one-time tokens.
const (
	sessionPrefix  = "fds_"
	apiKeyPrefix   = "fdk_"
	oneTimePrefix  = "fdt_"
	tokenBytes     = 32 // 256 bits of randomness
	visiblePrefLen = 12 // "fdk_" plus 8 characters shown in listings
)

// newToken returns prefix followed by 256 random bits, base64url-encoded.
func newToken(prefix string) string {
	b := make([]byte, tokenBytes)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what the database stores for a token. A fast hash is right
// here: tokens carry 256 bits of entropy, so there is nothing to
// brute-force, unlike passwords.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormed checks a presented token's shape before any lookup, so junk
// never reaches the database.
func wellFormed(token, prefix string) bool {
	if !strings.HasPrefix(token, prefix) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[len(prefix):])
	return err == nil && len(raw) == tokenBytes
}
