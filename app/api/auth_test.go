package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/app/clients"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// newClient registers a business system allowed to post to the demo exam item.
func newClient(t *testing.T, p *servertest.Platform, appID string, md5 bool) *client.Client {
	t.Helper()
	_, secret, err := p.Clients.CreateClient(context.Background(), clients.ClientInput{
		AppID: appID, Name: "测试系统 " + appID, AllowedItems: []string{"CET-2026-12"}, LegacyMD5: md5}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 64 {
		t.Fatalf("secret %q, want 64 hex characters", secret)
	}
	return client.New(p.URL, appID, secret)
}

// forgeSignature changes the signature's first hex digit to a different one, so the
// forgery never equals the real signature (replacing it with a fixed "00" did, once in
// 256 signatures).
func forgeSignature(r *http.Request) {
	sig := []byte(r.Header.Get("X-Signature"))
	if len(sig) == 0 {
		return
	}
	if sig[0] == '0' {
		sig[0] = '1'
	} else {
		sig[0] = '0'
	}
	r.Header.Set("X-Signature", string(sig))
}

// send signs a request with the given overrides and returns the status and error code.
func send(t *testing.T, c *client.Client, method, path string, body []byte, tweak func(*http.Request)) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.BaseURL+path, bytes.NewReader(body))
	c.Sign(req, body)
	if tweak != nil {
		tweak(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

func TestSignedRequestsAndRefusals(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		c := newClient(t, p, "admissions", false)
		legacy := newClient(t, p, "old-donations", true)
		const path = "/api/v1/bills/NO-SUCH-BILL"

		if code, _ := send(t, c, "GET", path, nil, nil); code == http.StatusUnauthorized {
			t.Fatalf("a correctly signed request was refused")
		}
		stale := strconv.FormatInt(time.Now().Add(-301*time.Second).Unix(), 10)
		tests := []struct {
			name   string
			client *client.Client
			tweak  func(*http.Request)
		}{
			{"unknown app id", c, func(r *http.Request) { r.Header.Set("X-App-Id", "nobody") }},
			{"bad signature", c, forgeSignature},
			{"missing signature", c, func(r *http.Request) { r.Header.Del("X-Signature") }},
			{"stale timestamp", c, func(r *http.Request) { r.Header.Set("X-Timestamp", stale) }},
			{"short nonce", c, func(r *http.Request) { r.Header.Set("X-Nonce", "abc") }},
			{"query changed after signing", c, func(r *http.Request) { r.URL.RawQuery = "x=1" }},
			{"MD5 not enabled for this client", c, func(r *http.Request) { r.Header.Set("X-Sign-Type", "MD5") }},
		}
		for _, tt := range tests {
			code, errCode := send(t, tt.client, "GET", path, nil, tt.tweak)
			if code != http.StatusUnauthorized || errCode != "unauthorized" {
				t.Errorf("%s: status %d code %q, want 401 unauthorized", tt.name, code, errCode)
			}
		}

		// A replayed request: the same nonce twice.
		req, _ := http.NewRequest("GET", c.BaseURL+path, nil)
		c.Sign(req, nil)
		first, _ := http.DefaultClient.Do(req.Clone(context.Background()))
		first.Body.Close()
		second, _ := http.DefaultClient.Do(req.Clone(context.Background()))
		second.Body.Close()
		if first.StatusCode == http.StatusUnauthorized || second.StatusCode != http.StatusUnauthorized {
			t.Errorf("replay: first %d, second %d; want the second refused with 401", first.StatusCode, second.StatusCode)
		}

		// The legacy scheme, for the client finance enabled it for.
		legacy.MD5 = true
		if code, _ := send(t, legacy, "GET", path, nil, nil); code == http.StatusUnauthorized {
			t.Errorf("MD5-signed request of a client allowed to use it was refused")
		}

		// A disabled client is refused.
		if err := p.Clients.SetClientDisabled(context.Background(), "admissions", true, "test"); err != nil {
			t.Fatal(err)
		}
		if code, _ := send(t, c, "GET", path, nil, nil); code != http.StatusUnauthorized {
			t.Errorf("disabled client: status %d, want 401", code)
		}

		// Every request of a known client is in its request log.
		n, _ := p.DB.NewSelect().Model((*store.APIRequest)(nil)).Where("app_id = ?", "admissions").Where("status = 401").Count(context.Background())
		if n < int64(len(tests)-1) {
			t.Errorf("request log holds %d refused requests of admissions, want at least %d", n, len(tests)-1)
		}
	})
}

func TestClientSecretIsSealedAndRotates(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		c := newClient(t, p, "training", false)
		row, _ := p.Clients.Client(ctx, "training")
		if row.SecretSealed == c.Secret || bytes.Contains([]byte(row.SecretSealed), []byte(c.Secret)) {
			t.Fatal("the secret is stored in plain")
		}
		fresh, err := p.Clients.RotateClientSecret(ctx, "training", "test")
		if err != nil || fresh == c.Secret {
			t.Fatalf("RotateClientSecret = %q, %v; want a new secret", fresh, err)
		}
		if code, _ := send(t, c, "GET", "/api/v1/bills/X", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("old secret after rotation: status %d, want 401", code)
		}
		c.Secret = fresh
		if code, _ := send(t, c, "GET", "/api/v1/bills/X", nil, nil); code == http.StatusUnauthorized {
			t.Errorf("new secret refused")
		}
		if _, _, err := p.Clients.CreateClient(ctx, clients.ClientInput{AppID: "training", Name: "重复"}, "test"); err == nil {
			t.Error("a second client with the same app id was created")
		}
		for _, in := range []clients.ClientInput{
			{AppID: "X", Name: "大写"}, {AppID: "ok-id", Name: "x"},
			{AppID: "ok-id", Name: "回调", CallbackURL: "ftp://x"}, {AppID: "ok-id", Name: "项目", AllowedItems: []string{"NOPE"}},
		} {
			if _, _, err := p.Clients.CreateClient(ctx, in, "test"); err == nil {
				t.Errorf("CreateClient(%+v) accepted, want a validation error", in)
			}
		}
	})
}
