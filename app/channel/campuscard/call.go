package campuscard

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"campuspay/app/channel"
)

// The protocol's signing headers and timestamp window.
const (
	headerTimestamp = "X-Card-Timestamp"
	headerNonce     = "X-Card-Nonce"
	headerSignature = "X-Card-Signature"
	window          = 300 * time.Second

	// maxAnswer bounds what is read from the card system; a day's statement of a large
	// university is a few megabytes.
	maxAnswer = 64 << 20
)

// sign is lowercase hex HMAC-SHA256(key, METHOD\nPATH\nTIMESTAMP\nNONCE\nhex(sha256(body))).
func sign(key, method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "%s\n%s\n%s\n%s\n%x", method, path, timestamp, nonce, sum)
	return hex.EncodeToString(mac.Sum(nil))
}

// call sends one signed request to the card system (payload as JSON, or no body when
// nil) and returns the status and body of an answer whose signature verifies. A
// transport error, a 5xx or an answer that does not verify wraps channel.ErrUnavailable.
func (c *Channel) call(ctx context.Context, method, path string, payload any) (int, []byte, error) {
	base, key, ok := c.target(ctx)
	if !ok {
		return 0, nil, fmt.Errorf("campuscard: %s %s: no card system address configured: %w", method, path, channel.ErrUnavailable)
	}
	u, err := url.Parse(base + path)
	if err != nil {
		return 0, nil, fmt.Errorf("campuscard: base url: %w", err)
	}
	var body []byte
	if payload != nil {
		if body, err = json.Marshal(payload); err != nil {
			return 0, nil, fmt.Errorf("campuscard: %s: %w", path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("campuscard: %s: %w", path, err)
	}
	signedPath := req.URL.EscapedPath()
	nonce := newNonce()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerNonce, nonce)
	req.Header.Set(headerSignature, sign(key, method, signedPath, ts, nonce, body))

	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("campuscard: %s %s: %w: %w", method, path, channel.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, fmt.Errorf("campuscard: %s %s: read answer: %w: %w", method, path, channel.ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return 0, nil, fmt.Errorf("campuscard: %s %s: status %d: %w", method, path, resp.StatusCode, channel.ErrUnavailable)
	}
	if err := verify(key, resp.Header, method, signedPath, nonce, answer); err != nil {
		return 0, nil, fmt.Errorf("campuscard: %s %s: answer (status %d): %w: %w", method, path, resp.StatusCode, channel.ErrUnavailable, err)
	}
	return resp.StatusCode, answer, nil
}

// verify checks that an answer is signed with our key, for our request (it echoes our
// nonce), and recent.
func verify(key string, h http.Header, method, path, nonce string, body []byte) error {
	if h.Get(headerNonce) != nonce {
		return fmt.Errorf("nonce %q is not ours: %w", h.Get(headerNonce), channel.ErrBadSignature)
	}
	ts := h.Get(headerTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, channel.ErrBadSignature)
	}
	if d := time.Since(time.Unix(sec, 0)); d > window || d < -window {
		return fmt.Errorf("timestamp %q out of window: %w", ts, channel.ErrBadSignature)
	}
	want := sign(key, method, path, ts, nonce, body)
	if !hmac.Equal([]byte(h.Get(headerSignature)), []byte(want)) {
		return channel.ErrBadSignature
	}
	return nil
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
