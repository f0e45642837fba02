// Package ssotest runs, for tests, a small fake CAS server and a fake OpenID Connect
// provider on loopback ports: they speak the real protocols (CAS 3.0/2.0 XML, OIDC
// discovery, JWKS, the authorization code flow with PKCE, RS256-signed ID tokens built by
// hand), so that the platform's single sign-on is tested over HTTP end to end.
package ssotest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---------- CAS ----------

// CAS is a fake CAS server. /login issues a service ticket for whoever SignInAs named
// and sends the browser back to the service; /p3/serviceValidate (with attributes) and
// /serviceValidate (CAS 2.0, without) validate each ticket once, for its service only.
type CAS struct {
	*httptest.Server

	mu          sync.Mutex
	user        string
	attrs       map[string]string
	tickets     map[string]casTicket
	issued      []string
	validations []string // paths validation requests came to
	logouts     []string // service parameters of /logout
	n           int
}

type casTicket struct {
	service, user string
	attrs         map[string]string
}

// NewCAS starts a fake CAS server until the test ends.
func NewCAS(t testing.TB) *CAS {
	c := &CAS{tickets: map[string]casTicket{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cas/login", c.login)
	mux.HandleFunc("GET /cas/p3/serviceValidate", c.validate)
	mux.HandleFunc("GET /cas/serviceValidate", c.validate)
	mux.HandleFunc("GET /cas/logout", c.logout)
	c.Server = httptest.NewServer(mux)
	t.Cleanup(c.Close)
	return c
}

// BaseURL is the CAS server's address as the platform's settings take it.
func (c *CAS) BaseURL() string { return c.URL + "/cas" }

// SignInAs makes the next /login a success for user with these attributes.
func (c *CAS) SignInAs(user string, attrs map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user, c.attrs = user, attrs
}

// LastTicket is the last ticket /login issued.
func (c *CAS) LastTicket() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.issued) == 0 {
		return ""
	}
	return c.issued[len(c.issued)-1]
}

// Validations lists the paths validation requests came to.
func (c *CAS) Validations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.validations...)
}

// Logouts lists the service parameters /logout was called with.
func (c *CAS) Logouts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.logouts...)
}

func (c *CAS) login(w http.ResponseWriter, r *http.Request) {
	service := r.URL.Query().Get("service")
	c.mu.Lock()
	user, attrs := c.user, c.attrs
	c.n++
	ticket := fmt.Sprintf("ST-%d-%s-cas", c.n, randomText(20))
	if user != "" && service != "" {
		c.tickets[ticket] = casTicket{service: service, user: user, attrs: attrs}
		c.issued = append(c.issued, ticket)
	}
	c.mu.Unlock()
	if user == "" || service == "" {
		http.Error(w, "no one to sign in", http.StatusBadRequest)
		return
	}
	sep := "?"
	if strings.Contains(service, "?") {
		sep = "&"
	}
	http.Redirect(w, r, service+sep+"ticket="+url.QueryEscape(ticket), http.StatusFound)
}

func (c *CAS) validate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	c.validations = append(c.validations, r.URL.Path)
	t, ok := c.tickets[q.Get("ticket")]
	delete(c.tickets, q.Get("ticket")) // a ticket is good once
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(`<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">` + "\n")
	switch {
	case !ok:
		fmt.Fprintf(&b, "  <cas:authenticationFailure code=\"INVALID_TICKET\">Ticket %s not recognized</cas:authenticationFailure>\n", esc(q.Get("ticket")))
	case t.service != q.Get("service"):
		fmt.Fprintf(&b, "  <cas:authenticationFailure code=\"INVALID_SERVICE\">Ticket was not issued for %s</cas:authenticationFailure>\n", esc(q.Get("service")))
	default:
		fmt.Fprintf(&b, "  <cas:authenticationSuccess>\n    <cas:user>%s</cas:user>\n", esc(t.user))
		if strings.HasPrefix(r.URL.Path, "/cas/p3/") && len(t.attrs) > 0 {
			b.WriteString("    <cas:attributes>\n")
			names := make([]string, 0, len(t.attrs))
			for k := range t.attrs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(&b, "      <cas:%s>%s</cas:%s>\n", k, esc(t.attrs[k]), k)
			}
			b.WriteString("    </cas:attributes>\n")
		}
		b.WriteString("  </cas:authenticationSuccess>\n")
	}
	b.WriteString("</cas:serviceResponse>\n")
	w.Write([]byte(b.String()))
}

func (c *CAS) logout(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.logouts = append(c.logouts, r.URL.Query().Get("service"))
	c.mu.Unlock()
	w.Write([]byte("logged out"))
}

// LogoutRequest is the body of the single-logout request a CAS server posts (as the form
// field logoutRequest) for ticket.
func LogoutRequest(ticket string) string {
	return `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
		`ID="LR-` + randomText(8) + `" Version="2.0" IssueInstant="` + time.Now().UTC().Format(time.RFC3339) + `">` +
		`<saml:NameID>@NOT_USED@</saml:NameID><samlp:SessionIndex>` + esc(ticket) + `</samlp:SessionIndex></samlp:LogoutRequest>`
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// ---------- OpenID Connect ----------

// OIDC is a fake OpenID Connect provider: discovery, JWKS with an RSA key made for the
// test, /authorize that signs in whoever SignInAs named and redirects back with a code,
// /token that checks the client, the redirect URI and the PKCE verifier and returns an ID
// token signed RS256.
type OIDC struct {
	*httptest.Server
	ClientID     string
	ClientSecret string
	Key          *rsa.PrivateKey

	mu     sync.Mutex
	forger *rsa.PrivateKey // signs ID tokens instead of Key when set
	claims map[string]any
	tamper func(claims map[string]any)
	codes  map[string]oidcCode
	errors []string // why /token refused, for tests that want to know
}

type oidcCode struct {
	clientID, redirectURI, nonce, challenge string
	claims                                  map[string]any
}

// NewOIDC starts a fake provider for one client until the test ends.
func NewOIDC(t testing.TB, clientID, clientSecret string) *OIDC {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &OIDC{ClientID: clientID, ClientSecret: clientSecret, Key: key, codes: map[string]oidcCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", o.discovery)
	mux.HandleFunc("GET /jwks", o.jwks)
	mux.HandleFunc("GET /authorize", o.authorize)
	mux.HandleFunc("POST /token", o.token)
	o.Server = httptest.NewServer(mux)
	t.Cleanup(o.Close)
	return o
}

// SignInAs makes the next /authorize a success with these claims (sub and any others);
// tamper, when not nil, changes the ID token's claims just before signing.
func (o *OIDC) SignInAs(claims map[string]any, tamper func(claims map[string]any)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims, o.tamper = claims, tamper
}

// SignWith makes /token sign ID tokens with key (one the provider never published); nil
// goes back to the provider's own key.
func (o *OIDC) SignWith(key *rsa.PrivateKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.forger = key
}

// TokenErrors lists why /token refused requests.
func (o *OIDC) TokenErrors() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.errors...)
}

func (o *OIDC) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                o.URL,
		"authorization_endpoint":                o.URL + "/authorize",
		"token_endpoint":                        o.URL + "/token",
		"jwks_uri":                              o.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (o *OIDC) jwks(w http.ResponseWriter, r *http.Request) {
	pub := o.Key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (o *OIDC) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != o.ClientID, redirect == "":
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "openid scope required", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	claims := o.claims
	code := randomText(24)
	if claims != nil {
		o.codes[code] = oidcCode{clientID: q.Get("client_id"), redirectURI: redirect, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), claims: claims}
	}
	o.mu.Unlock()
	back, _ := url.Parse(redirect)
	v := back.Query()
	if claims == nil {
		v.Set("error", "access_denied")
	} else {
		v.Set("code", code)
	}
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (o *OIDC) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		o.refuse(w, "invalid_request", "unreadable form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != o.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(o.ClientSecret)) != 1 {
		o.refuse(w, "invalid_client", "client authentication failed")
		return
	}
	o.mu.Lock()
	c, found := o.codes[r.PostForm.Get("code")]
	delete(o.codes, r.PostForm.Get("code")) // a code is good once
	tamper, key := o.tamper, o.Key
	if o.forger != nil {
		key = o.forger
	}
	o.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		o.refuse(w, "unsupported_grant_type", "authorization_code only")
		return
	case !found || c.clientID != id:
		o.refuse(w, "invalid_grant", "unknown or used code")
		return
	case c.redirectURI != r.PostForm.Get("redirect_uri"):
		o.refuse(w, "invalid_grant", "redirect_uri differs")
		return
	case b64(sum[:]) != c.challenge:
		o.refuse(w, "invalid_grant", "PKCE verifier does not match")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": o.URL, "aud": o.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": c.nonce}
	for k, v := range c.claims {
		claims[k] = v
	}
	if tamper != nil {
		tamper(claims)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomText(24), "token_type": "Bearer", "expires_in": 3600,
		"id_token": SignJWT(key, "test-key", claims),
	})
}

func (o *OIDC) refuse(w http.ResponseWriter, code, why string) {
	o.mu.Lock()
	o.errors = append(o.errors, code+": "+why)
	o.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": why})
}

// SignJWT makes a compact JWS (RS256) of claims: header.payload.signature, base64url.
func SignJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64(b)[:n]
}
