package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
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
	appID, ts, nonce, sig := c.Get(sign.HeaderAppID), c.Get(sign.HeaderTimestamp), c.Get(sign.HeaderNonce), c.Get(sign.HeaderSignature)
	if appID == "" || ts == "" || nonce == "" || sig == "" {
		return errUnauthorized("missing signature headers: X-App-Id, X-Timestamp, X-Nonce and X-Signature are required")
	}
	client, err := h.Billing.Client(c.Context(), appID)
	if err != nil {
		var be *billing.Error
		if errors.As(err, &be) {
			return errUnauthorized("unknown app id")
		}
		return err
	}
	c.Locals(localsClient, client) // for the request log, even when refused below
	if client.Disabled {
		return errUnauthorized("this client is disabled")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	now := h.now()
	if err != nil || now.Sub(time.Unix(secs, 0)).Abs() > TimestampWindow {
		return errUnauthorized("timestamp is more than 300 seconds from the platform's clock")
	}
	if !sign.ValidNonce(nonce) {
		return errUnauthorized("nonce must be 16-64 characters of [0-9A-Za-z]")
	}
	secret, err := h.Billing.ClientSecret(client)
	if err != nil {
		return err
	}
	sts := sign.StringToSign(c.Method(), c.OriginalURL(), ts, nonce, c.Body())
	expected := sign.HMAC(secret, sts)
	if c.Get(sign.HeaderSignType) == "MD5" {
		if !client.LegacyMD5 {
			return errUnauthorized("the legacy MD5 scheme is not enabled for this client")
		}
		expected = sign.MD5(secret, sts)
	}
	if !sign.Verify(expected, sig) {
		return errUnauthorized("signature does not verify")
	}
	fresh, err := store.UseNonce(c.Context(), h.Billing.DB, appID, nonce, now, now.Add(NonceMemory))
	if err != nil {
		return err
	}
	if !fresh {
		return errUnauthorized("nonce was used in the last 15 minutes")
	}
	return c.Next()
}
