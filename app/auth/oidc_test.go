package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/auth"
	"campuspay/app/auth/ssotest"
	"campuspay/app/egress"
)

// oidcReturn follows the provider's authorization redirect as a browser would and returns
// the query it sent the visitor back with.
func oidcReturn(t *testing.T, to string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize answered %d, want a redirect back", resp.StatusCode)
	}
	return loc.Query()
}

// allowing is a client whose guard's allow-list names hostPort: the fake identity
// providers listen on loopback, which the platform refuses by default.
func allowing(hostPort string) *http.Client {
	g := &egress.Guard{AllowList: func(context.Context) string { return hostPort }}
	return g.Client(egress.Options{Timeout: 10 * time.Second})
}

func TestOIDCFlow(t *testing.T) {
	fake := ssotest.NewOIDC(t, "campuspay", "s3cret")
	local := allowing(egress.HostPortOf(fake.URL))
	cfg := auth.OIDC{
		Issuer: fake.URL, ClientID: "campuspay", ClientSecret: "s3cret", RedirectURL: "https://pay.example.edu.cn/auth/oidc/callback",
		Scopes: []string{"profile"},
		Claims: auth.OIDCClaimNames{Login: "preferred_username", PayerNo: "employee_number", Name: "name", Phone: "phone_number"},
	}
	good := map[string]any{"sub": "u-1", "preferred_username": "zhangsan", "employee_number": 2026000001, "name": "张三", "phone_number": "13800000001"}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tamper func(map[string]any)
		state  func(string) string // changes the state the visitor comes back with
		cfg    func(*auth.OIDC)
		forge  bool   // the token is signed with a key the provider never published
		reason string // part of the refusal; "" for a sign-in
	}{
		{name: "good"},
		{name: "wrong nonce", tamper: func(c map[string]any) { c["nonce"] = "another-login" }, reason: "与本次登录请求不符"},
		{name: "no nonce", tamper: func(c map[string]any) { delete(c, "nonce") }, reason: "与本次登录请求不符"},
		{name: "wrong audience", tamper: func(c map[string]any) { c["aud"] = "another-client" }, reason: "校验未通过"},
		{name: "expired", tamper: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, reason: "校验未通过"},
		{name: "signed with another key", forge: true, reason: "校验未通过"},
		{name: "wrong issuer", tamper: func(c map[string]any) { c["iss"] = "https://evil.example.com" }, reason: "校验未通过"},
		{name: "bad state", state: func(s string) string { return s + "x" }, reason: "已失效"},
		{name: "no state", state: func(string) string { return "" }, reason: "已失效"},
		{name: "wrong client secret", cfg: func(c *auth.OIDC) { c.ClientSecret = "guess" }, reason: "未确认"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ps := &auth.OIDCProviders{Client: local}
			c := cfg
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			fake.SignInAs(good, tt.tamper)
			if tt.forge {
				fake.SignWith(otherKey)
				defer fake.SignWith(nil)
			}
			to, a, err := ps.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(to)
			if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("nonce") != a.Nonce || q.Get("state") != a.State ||
				!strings.Contains(q.Get("scope"), "openid") || q.Get("code_challenge") == "" || strings.Contains(to, a.Verifier) {
				t.Fatalf("authorization URL %s lacks state, nonce or PKCE (or shows the verifier)", to)
			}
			back := oidcReturn(t, to)
			state := back.Get("state")
			if tt.state != nil {
				state = tt.state(state)
			}
			id, err := ps.Finish(ctx, c, a, state, back.Get("code"))
			if tt.reason != "" {
				var se *auth.SSOError
				if !errors.As(err, &se) || !strings.Contains(se.Reason, tt.reason) {
					t.Fatalf("Finish = %+v, %v; want a refusal saying %q", id, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := auth.Identity{Provider: auth.ProviderOIDC, Subject: "u-1", Login: "zhangsan", PayerNo: "2026000001", Name: "张三", Phone: "13800000001"}
			if id != want {
				t.Errorf("identity = %+v, want %+v", id, want)
			}
			// The code is good once.
			if _, err := ps.Finish(ctx, c, a, state, back.Get("code")); err == nil {
				t.Error("the same code signed in twice")
			}
		})
	}

	t.Run("provider down", func(t *testing.T) {
		c := cfg
		c.Issuer = "http://127.0.0.1:1"
		var se *auth.SSOError
		if _, _, err := (&auth.OIDCProviders{Client: allowing("127.0.0.1:1")}).Begin(context.Background(), c); !errors.As(err, &se) || !se.Unavailable {
			t.Fatalf("Begin with the provider down = %v, want an unavailable SSOError", err)
		}
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		c := cfg
		c.Issuer = fake.URL + "/"
		var se *auth.SSOError
		if _, _, err := (&auth.OIDCProviders{Client: local}).Begin(context.Background(), c); !errors.As(err, &se) || !strings.Contains(se.Reason, "Issuer") {
			t.Fatalf("Begin with a wrong issuer = %v, want the issuer named", err)
		}
	})
}

// TestOIDCRefusesInternalIssuer: an issuer (and so discovery, keys and tokens) on an
// internal address is not asked anything unless the allow-list names it.
func TestOIDCRefusesInternalIssuer(t *testing.T) {
	fake := ssotest.NewOIDC(t, "campuspay", "s3cret")
	port := strings.TrimPrefix(egress.HostPortOf(fake.URL), "127.0.0.1:")
	for _, issuer := range []string{fake.URL, "http://127.0.0.2:" + port, "http://169.254.169.254", "http://[::1]:" + port,
		"http://localhost:6379", "http://localhost:" + port} {
		cfg := auth.OIDC{Issuer: issuer, ClientID: "campuspay", RedirectURL: "https://pay.example.edu.cn/auth/oidc/callback"}
		var se *auth.SSOError
		var refused *egress.Refused
		_, _, err := (&auth.OIDCProviders{}).Begin(context.Background(), cfg)
		if !errors.As(err, &se) || !se.Unavailable || !errors.As(err, &refused) {
			t.Errorf("Begin with issuer %s = %v, want unavailable, refused by the guard", issuer, err)
		}
	}
	if _, _, err := (&auth.OIDCProviders{Client: allowing(egress.HostPortOf(fake.URL))}).Begin(context.Background(),
		auth.OIDC{Issuer: fake.URL, ClientID: "campuspay", RedirectURL: "https://pay.example.edu.cn/auth/oidc/callback"}); err != nil {
		t.Errorf("Begin with the issuer allowed: %v", err)
	}
}
