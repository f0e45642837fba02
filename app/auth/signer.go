package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Signer makes and checks short signed tokens for links: "payload.expiry.signature",
// URL-safe. The payload is [0-9A-Za-z-] (an order number, a bill reference) and is bound to
// a purpose, so that a token minted for one use opens nothing else.
type Signer struct {
	Key []byte
}

func (s Signer) mac(purpose, payload string, exp int64) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(purpose + "\n" + payload + "\n" + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Sign returns a token carrying payload for purpose until exp.
func (s Signer) Sign(purpose, payload string, exp time.Time) string {
	e := exp.Unix()
	return payload + "." + strconv.FormatInt(e, 36) + "." + s.mac(purpose, payload, e)
}

// Verify returns the payload of a token minted for purpose that has not expired at now.
func (s Signer) Verify(purpose, token string, now time.Time) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || now.Unix() >= exp {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(purpose, parts[0], exp))) {
		return "", false
	}
	return parts[0], true
}
