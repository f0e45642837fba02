package campuscard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	headerTimestamp = "X-Card-Timestamp"
	headerNonce     = "X-Card-Nonce"
	headerSignature = "X-Card-Signature"

	// window is how far a message's timestamp may be from the receiver's clock.
	window = 300 * time.Second
)

var nonceRe = regexp.MustCompile(`^[0-9A-Za-z]{16,64}$`)

// sign computes the signature of one message of the protocol.
func sign(key, method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(method + "\n" + path + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(sum[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

// signed is the middleware in front of every endpoint: it verifies the request and
// signs whatever answer goes back, including its own refusals and internal errors.
func (s *Sim) signed(c *fiber.Ctx) error {
	method, path := c.Method(), string(c.Request().URI().PathOriginal())
	nonce := c.Get(headerNonce)
	if code := s.verify(c, method, path, nonce); code != "" {
		if !nonceRe.MatchString(nonce) {
			nonce = randomHex(16)
		}
		fail(c, fiber.StatusUnauthorized, code, "")
	} else if err := c.Next(); err != nil {
		var fe *fiber.Error
		switch {
		case errors.As(err, &fe) && fe.Code == fiber.StatusNotFound:
			fail(c, fe.Code, "not_found", "")
		case errors.As(err, &fe) && fe.Code < 500:
			fail(c, fe.Code, "bad_request", "")
		default:
			slog.Error("sim campuscard: request failed", "method", method, "path", path, "err", err)
			fail(c, fiber.StatusInternalServerError, "internal", "")
		}
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	c.Set(headerTimestamp, ts)
	c.Set(headerNonce, nonce)
	c.Set(headerSignature, sign(s.Key, method, path, ts, nonce, c.Response().Body()))
	return nil
}

// verify checks a request's signature, timestamp and nonce, and returns the code of the
// first thing wrong, or "" when the request is genuine and new.
func (s *Sim) verify(c *fiber.Ctx, method, path, nonce string) string {
	if s.Key == "" {
		return "bad_signature" // an empty key would let anyone sign
	}
	if !nonceRe.MatchString(nonce) {
		return "bad_nonce"
	}
	tsHeader := c.Get(headerTimestamp)
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return "stale_timestamp"
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return "stale_timestamp"
	}
	want := sign(s.Key, method, path, tsHeader, nonce, c.Body())
	if !hmac.Equal([]byte(c.Get(headerSignature)), []byte(want)) {
		return "bad_signature"
	}
	if !s.remember(nonce, now) {
		return "replayed_nonce"
	}
	return ""
}

// remember records a nonce and reports whether it is new. A nonce is kept for twice the
// window: a message stamped within the window of any moment in that span is covered.
func (s *Sim) remember(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonces == nil {
		s.nonces = make(map[string]time.Time)
	}
	if now.Sub(s.lastPrune) > time.Minute {
		for n, until := range s.nonces {
			if now.After(until) {
				delete(s.nonces, n)
			}
		}
		s.lastPrune = now
	}
	if until, ok := s.nonces[nonce]; ok && !now.After(until) {
		return false
	}
	// Fiber's strings point into buffers it reuses for the next request: keep a copy.
	s.nonces[strings.Clone(nonce)] = now.Add(2 * window)
	return true
}
