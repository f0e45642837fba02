package api

import (
	"context"
	"strings"

	"campuspay/store"
)

// soapVerify checks a SOAP request's Auth header by the rules of the signed JSON API
// (verify): what is signed is POST, /ws/bills, timestamp, nonce and the SHA-256 of the body
// with the Signature's text cut out. The client is returned even when refused, for the
// request log.
func (h *Handler) soapVerify(ctx context.Context, call *soapCall) (*store.Client, error) {
	a := call.Env.Header.Auth[0]
	r := signedRequest{
		AppID: strings.TrimSpace(a.AppID), Timestamp: strings.TrimSpace(a.Timestamp), Nonce: strings.TrimSpace(a.Nonce),
		Signature: strings.TrimSpace(a.Signature), SignType: strings.TrimSpace(a.SignType),
		Method: "POST", Target: soapPath, Body: call.Signed,
	}
	if r.AppID == "" || r.Timestamp == "" || r.Nonce == "" || r.Signature == "" {
		return nil, errUnauthorized("the Auth header needs AppId, Timestamp, Nonce and Signature")
	}
	return h.verify(ctx, r, true)
}
