package sandbox

import (
	"campuspay/app/sign"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// signRequest signs a gateway request or response:
// hex HMAC-SHA256(key, METHOD+"\n"+PATH+"\n"+TIMESTAMP+"\n"+hex(sha256(body))).
func signRequest(key, method, path, timestamp string, body []byte) string {
	return sign.HMAC(key, method+"\n"+path+"\n"+timestamp+"\n"+bodyHash(body))
}

// signNotification signs a notification: hex HMAC-SHA256(key, "NOTIFY\n"+TIMESTAMP+"\n"+hex(sha256(body))).
func signNotification(key, timestamp string, body []byte) string {
	return sign.HMAC(key, "NOTIFY\n"+timestamp+"\n"+bodyHash(body))
}

func verifyRequest(key, method, path, timestamp string, body []byte, signature string) bool {
	want := signRequest(key, method, path, timestamp, body)
	return signature != "" && hmac.Equal([]byte(want), []byte(signature))
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// withinWindow reports whether timestamp (unix seconds) is at most 300 s from now.
func withinWindow(timestamp string, now time.Time) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= signatureWindow && d >= -signatureWindow
}
