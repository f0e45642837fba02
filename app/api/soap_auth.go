package api

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"campuspay/app/billing"
	"campuspay/app/sign"
	"campuspay/store"
)

// soapVerify checks a SOAP request's Auth header by the rules of the signed JSON API: a
// known, enabled client; a timestamp within 300 s; a well-formed nonce; the HMAC-SHA256
// signature (or legacy MD5 where finance enabled it) of POST, /ws/bills, timestamp, nonce
// and the SHA-256 of the body with the Signature's text cut out; and a nonce not used in
// the last 15 minutes. The client is returned even when refused, for the request log.
func (h *Handler) soapVerify(ctx context.Context, call *soapCall) (*store.Client, error) {
	a := call.Env.Header.Auth[0]
	a.AppID, a.Timestamp, a.Nonce = strings.TrimSpace(a.AppID), strings.TrimSpace(a.Timestamp), strings.TrimSpace(a.Nonce)
	a.Signature, a.SignType = strings.TrimSpace(a.Signature), strings.TrimSpace(a.SignType)
	if a.AppID == "" || a.Timestamp == "" || a.Nonce == "" || a.Signature == "" {
		return nil, errUnauthorized("the Auth header needs AppId, Timestamp, Nonce and Signature")
	}
	client, err := h.Billing.Client(ctx, a.AppID)
	if err != nil {
		var be *billing.Error
		if errors.As(err, &be) {
			return nil, errUnauthorized("unknown app id")
		}
		return nil, err
	}
	if client.Disabled {
		return client, errUnauthorized("this client is disabled")
	}
	secs, err := strconv.ParseInt(a.Timestamp, 10, 64)
	now := h.now()
	if err != nil || now.Sub(time.Unix(secs, 0)).Abs() > TimestampWindow {
		return client, errUnauthorized("timestamp is more than 300 seconds from the platform's clock")
	}
	if !sign.ValidNonce(a.Nonce) {
		return client, errUnauthorized("nonce must be 16-64 characters of [0-9A-Za-z]")
	}
	secret, err := h.Billing.ClientSecret(client)
	if err != nil {
		return client, err
	}
	sts := sign.StringToSign("POST", soapPath, a.Timestamp, a.Nonce, call.Signed)
	expected := sign.HMAC(secret, sts)
	switch a.SignType {
	case "", "HMAC-SHA256":
	case "MD5":
		if !client.LegacyMD5 {
			return client, errUnauthorized("the legacy MD5 scheme is not enabled for this client")
		}
		expected = sign.MD5(secret, sts)
	default:
		return client, errUnauthorized("SignType must be empty or MD5")
	}
	if !sign.Verify(expected, a.Signature) {
		return client, errUnauthorized("signature does not verify")
	}
	fresh, err := store.UseNonce(ctx, h.Billing.DB, a.AppID, a.Nonce, now, now.Add(NonceMemory))
	if err != nil {
		return client, err
	}
	if !fresh {
		return client, errUnauthorized("nonce was used in the last 15 minutes")
	}
	return client, nil
}
