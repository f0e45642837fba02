// Package sign is the integration API's signature scheme (API.md, "Signing"): the string
// to sign, HMAC-SHA256 and the legacy MD5 variant, and the nonce rule. The API verifies
// requests with it and the outbox signs callbacks with it.
package sign

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"regexp"
	"strings"
)

// Request headers of the signing scheme.
const (
	HeaderAppID     = "X-App-Id"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
	HeaderSignType  = "X-Sign-Type" // "MD5" for the legacy scheme
)

var nonceRE = regexp.MustCompile(`^[0-9A-Za-z]{16,64}$`)

// ValidNonce reports whether a nonce has the required form: 16–64 of [0-9A-Za-z].
func ValidNonce(n string) bool { return nonceRE.MatchString(n) }

// StringToSign is the five lines API.md defines, joined by "\n": method, request target
// (path and query exactly as sent), timestamp, nonce, and the hex SHA-256 of the body.
func StringToSign(method, target, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{strings.ToUpper(method), target, timestamp, nonce, hex.EncodeToString(sum[:])}, "\n")
}

// HMAC returns the lowercase hex HMAC-SHA256 of the string to sign under secret.
func HMAC(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// MD5 is the legacy scheme: lowercase hex MD5 of the string to sign followed by the
// secret. Only for clients finance has allowed it for.
func MD5(secret, stringToSign string) string {
	sum := md5.Sum([]byte(stringToSign + secret))
	return hex.EncodeToString(sum[:])
}

// Verify compares a presented signature with the expected one in constant time.
func Verify(expected, presented string) bool {
	return subtle.ConstantTimeCompare([]byte(expected), []byte(strings.ToLower(presented))) == 1 && len(presented) == len(expected)
}

// Nonce makes a fresh 32-character nonce.
func Nonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("sign: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
