package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"campuspay/app/egress"
)

// OIDC is the platform as an OpenID Connect client of the school's identity provider:
// discovery from the issuer, the authorization code flow with state, nonce and PKCE (S256),
// and the ID token verified (signature, issuer, audience = client id, expiry, nonce).
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string   // our callback
	Scopes       []string // openid is always asked for
	Claims       OIDCClaimNames
}

// OIDCClaimNames says which ID token claims carry what we need.
type OIDCClaimNames struct {
	Login   string // e.g. preferred_username
	PayerNo string // e.g. employee_number, student_id
	Name    string // e.g. name
	Phone   string // e.g. phone_number
}

// OIDCAttempt is what a sign-in keeps (in the visitor's session) between sending them to
// the provider and their return.
type OIDCAttempt struct {
	State    string
	Nonce    string
	Verifier string // PKCE code verifier
}

// OIDCProviders discovers providers and keeps each (its endpoints and signing keys) for an
// hour. The zero value is ready to use.
type OIDCProviders struct {
	// Client makes discovery, key and token requests; nil: a 10-second client through a
	// guard that refuses every internal address (egress).
	Client *http.Client

	mu     sync.Mutex
	cached map[string]cachedProvider
}

type cachedProvider struct {
	p  *oidc.Provider
	at time.Time
}

const providerTTL = time.Hour

func (ps *OIDCProviders) client() *http.Client {
	if ps.Client != nil {
		return ps.Client
	}
	return new(egress.Guard).Client(egress.Options{Timeout: 10 * time.Second})
}

// provider returns the issuer's provider, discovering it when it is not known or stale.
func (ps *OIDCProviders) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	ps.mu.Lock()
	c, ok := ps.cached[issuer]
	ps.mu.Unlock()
	if ok && time.Since(c.at) < providerTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, ps.client()), issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, &SSOError{Reason: "OIDC Issuer 地址与身份认证平台声明的不一致，请联系管理员检查系统参数", Unavailable: true, Err: err}
		}
		return nil, &SSOError{Reason: "暂时无法连接统一身份认证平台，请稍后再试", Unavailable: true, Err: err}
	}
	ps.mu.Lock()
	if ps.cached == nil {
		ps.cached = map[string]cachedProvider{}
	}
	ps.cached[issuer] = cachedProvider{p: p, at: time.Now()}
	ps.mu.Unlock()
	return p, nil
}

func (cfg OIDC) oauth2(p *oidc.Provider) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range cfg.Scopes {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(), RedirectURL: cfg.RedirectURL, Scopes: scopes}
}

// Begin returns the provider's address to send the visitor to, and what to keep until
// they come back.
func (ps *OIDCProviders) Begin(ctx context.Context, cfg OIDC) (string, OIDCAttempt, error) {
	p, err := ps.provider(ctx, cfg.Issuer)
	if err != nil {
		return "", OIDCAttempt{}, err
	}
	a := OIDCAttempt{State: newToken(), Nonce: newToken(), Verifier: oauth2.GenerateVerifier()}
	to := cfg.oauth2(p).AuthCodeURL(a.State, oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier))
	return to, a, nil
}

// Finish checks the visitor came back from the attempt a (state), exchanges code for
// tokens (with the PKCE verifier), verifies the ID token and its nonce, and returns who
// signed in, read from the configured claims (and from userinfo for those the ID token
// lacks).
func (ps *OIDCProviders) Finish(ctx context.Context, cfg OIDC, a OIDCAttempt, state, code string) (Identity, error) {
	if a.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(a.State)) != 1 {
		return Identity{}, &SSOError{Reason: "登录请求已失效或来源不明，请重新登录", Err: errors.New("auth: oidc: state mismatch")}
	}
	if code == "" {
		return Identity{}, &SSOError{Reason: "身份认证平台没有返回授权码，请重新登录", Err: errors.New("auth: oidc: no code")}
	}
	p, err := ps.provider(ctx, cfg.Issuer)
	if err != nil {
		return Identity{}, err
	}
	ctx = context.WithValue(oidc.ClientContext(ctx, ps.client()), oauth2.HTTPClient, ps.client())
	tok, err := cfg.oauth2(p).Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, &SSOError{Reason: "身份认证平台未确认本次登录（授权码无效或已使用），请重新登录", Err: err}
		}
		return Identity{}, &SSOError{Reason: "暂时无法连接统一身份认证平台，请稍后再试", Unavailable: true, Err: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, &SSOError{Reason: "身份认证平台没有返回身份令牌", Err: errors.New("auth: oidc: no id_token")}
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, &SSOError{Reason: "身份令牌校验未通过（签名、签发方、接收方或有效期不符），请重新登录", Err: err}
	}
	if a.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return Identity{}, &SSOError{Reason: "身份令牌与本次登录请求不符，请重新登录", Err: errors.New("auth: oidc: nonce mismatch")}
	}
	claims := map[string]json.RawMessage{}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, &SSOError{Reason: "身份令牌内容无法读取", Err: err}
	}
	names := cfg.Claims
	if missing(claims, names.Login, names.PayerNo, names.Name, names.Phone) && p.UserInfoEndpoint() != "" {
		// Some providers put the profile in userinfo only; the ID token's subject must match.
		if ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			more := map[string]json.RawMessage{}
			if ui.Claims(&more) == nil {
				for k, v := range more {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	return Identity{
		Provider: ProviderOIDC, Subject: idt.Subject,
		Login: claimText(claims, names.Login), PayerNo: claimText(claims, names.PayerNo),
		Name: claimText(claims, names.Name), Phone: claimText(claims, names.Phone),
	}, nil
}

// missing reports whether any of the named claims (names left empty aside) is absent.
func missing(claims map[string]json.RawMessage, names ...string) bool {
	for _, n := range names {
		if _, ok := claims[n]; n != "" && !ok {
			return true
		}
	}
	return false
}

// claimText is a claim as text: a string as it is, a number as written (an employee number
// may come as one), anything else "".
func claimText(claims map[string]json.RawMessage, name string) string {
	raw, ok := claims[name]
	if name == "" || !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
