package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/fault"
	"campuspay/app/settings"
	"campuspay/app/sign"
	"campuspay/store"
)

// Replay protection: the timestamp window and how long a nonce is remembered.
const (
	TimestampWindow = 300 * time.Second
	NonceMemory     = 15 * time.Minute
)

const localsClient = "campuspay.api.client"

// CurrentClient is the business system a verified request came from.
func CurrentClient(c *fiber.Ctx) *store.Client {
	cl, _ := c.Locals(localsClient).(*store.Client)
	return cl
}

// errUnauthorized is every signing failure; the message says which, the status is 401.
func errUnauthorized(msg string) error {
	return &apiError{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: msg}
}

// authenticate verifies the request's signature (HMAC-SHA256, or the legacy MD5 scheme
// where finance enabled it for the client), its timestamp, and that its nonce is new.
func (h *Handler) authenticate(c *fiber.Ctx) error {
	r := signedRequest{
		AppID: c.Get(sign.HeaderAppID), Timestamp: c.Get(sign.HeaderTimestamp), Nonce: c.Get(sign.HeaderNonce),
		Signature: c.Get(sign.HeaderSignature), SignType: c.Get(sign.HeaderSignType),
		Method: c.Method(), Target: c.OriginalURL(), Body: c.Body(),
	}
	if r.AppID == "" || r.Timestamp == "" || r.Nonce == "" || r.Signature == "" {
		return errUnauthorized("missing signature headers: X-App-Id, X-Timestamp, X-Nonce and X-Signature are required")
	}
	client, err := h.verify(c.UserContext(), r, false)
	if client != nil {
		c.Locals(localsClient, client) // for the request log, even when refused
	}
	if err != nil {
		return err
	}
	return c.Next()
}

// signedRequest is what a signed request presents (in headers, or in a SOAP header) and
// what its signature covers.
type signedRequest struct {
	AppID, Timestamp, Nonce, Signature, SignType string
	Method, Target                               string
	Body                                         []byte
}

// verify applies the signing rules of API.md to a request: a known, enabled client; a
// timestamp within 300 s; a well-formed nonce; the HMAC-SHA256 signature (or legacy MD5
// where finance enabled it) of method, target, timestamp, nonce and body; and a nonce not
// used in the last 15 minutes. The client is returned even when refused, for the request
// log. strictType refuses a sign type other than "", HMAC-SHA256 and MD5 (the SOAP header
// names it explicitly); otherwise anything but MD5 means HMAC.
func (h *Handler) verify(ctx context.Context, r signedRequest, strictType bool) (*store.Client, error) {
	client, err := h.Clients.Client(ctx, r.AppID)
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) {
			return nil, errUnauthorized("unknown app id")
		}
		return nil, err
	}
	if client.Disabled {
		return client, errUnauthorized("this client is disabled")
	}
	secs, err := strconv.ParseInt(r.Timestamp, 10, 64)
	now := h.now()
	if err != nil || now.Sub(time.Unix(secs, 0)).Abs() > TimestampWindow {
		return client, errUnauthorized("timestamp is more than 300 seconds from the platform's clock")
	}
	if !sign.ValidNonce(r.Nonce) {
		return client, errUnauthorized("nonce must be 16-64 characters of [0-9A-Za-z]")
	}
	secret, err := h.Clients.ClientSecret(client)
	if err != nil {
		return client, err
	}
	sts := sign.StringToSign(r.Method, r.Target, r.Timestamp, r.Nonce, r.Body)
	expected := sign.HMAC(secret, sts)
	switch {
	case r.SignType == "MD5":
		if !client.LegacyMD5 {
			return client, errUnauthorized("the legacy MD5 scheme is not enabled for this client")
		}
		expected = sign.MD5(secret, sts)
	case strictType && r.SignType != "" && r.SignType != "HMAC-SHA256":
		return client, errUnauthorized("SignType must be empty or MD5")
	}
	if !sign.Verify(expected, r.Signature) {
		return client, errUnauthorized("signature does not verify")
	}
	fresh, err := store.UseNonce(ctx, h.Billing.DB, r.AppID, r.Nonce, now, now.Add(NonceMemory))
	if err != nil {
		return client, err
	}
	if !fresh {
		return client, errUnauthorized("nonce was used in the last 15 minutes")
	}
	return client, h.rateLimit(ctx, client, now)
}

// rateLimit counts a verified request against its client's rate (the api.rate_per_minute
// setting), in the database so that the rate holds across every instance together. Only
// verified requests count: a stranger cannot spend a client's rate with bad signatures.
func (h *Handler) rateLimit(ctx context.Context, client *store.Client, now time.Time) error {
	l := auth.Limit{Scope: "api", Max: int(h.Billing.Settings.Int(ctx, settings.APIRatePerMinute)), Window: time.Minute}
	v, err := auth.Hit(ctx, h.Billing.DB, l, client.AppID, now)
	if err != nil {
		return err
	}
	if v.Allowed {
		return nil
	}
	wait := v.RetryAfter(now)
	return &apiError{Status: fiber.StatusTooManyRequests, Code: "rate_limited", RetryAfter: int(wait / time.Second),
		Message: fmt.Sprintf("more than %d requests in a minute from this client: retry after %d seconds", l.Max, int(wait/time.Second))}
}
