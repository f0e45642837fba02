package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"campuspay/app/auth"
	"campuspay/app/auth/ssotest"
	"campuspay/app/egress"
)

func TestParseCASResponse(t *testing.T) {
	for _, tt := range []struct {
		name     string
		body     string
		user     string
		attrs    map[string]string
		failCode string // a *CASFailure with this code
		bad      bool   // some other error
	}{
		{name: "cas 3.0 with attributes", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>zhangsan</cas:user>
    <cas:attributes>
      <cas:employeeNumber>2026000001</cas:employeeNumber>
      <cas:name>张三</cas:name>
      <cas:mobile> 13800000001 </cas:mobile>
      <cas:isFromNewLogin>true</cas:isFromNewLogin>
    </cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>`, user: "zhangsan", attrs: map[string]string{"employeeNumber": "2026000001", "name": "张三", "mobile": "13800000001"}},
		{name: "chinese attribute names", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>T0042</cas:user>
  <cas:attributes><cas:学工号>T0042</cas:学工号><cas:姓名>李老师</cas:姓名></cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`,
			user: "T0042", attrs: map[string]string{"学工号": "T0042", "姓名": "李老师"}},
		{name: "name/value attribute style", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>u1</cas:user>
  <cas:attribute name="employeeNumber" value="2026000009"/></cas:authenticationSuccess></cas:serviceResponse>`,
			user: "u1", attrs: map[string]string{"employeeNumber": "2026000009"}},
		{name: "cas 2.0 without attributes, proxy ticket ignored", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>
  <cas:user>2026000002</cas:user><cas:proxyGrantingTicket>PGTIOU-1</cas:proxyGrantingTicket></cas:authenticationSuccess></cas:serviceResponse>`,
			user: "2026000002", attrs: map[string]string{"proxyGrantingTicket": ""}},
		{name: "failure", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure code="INVALID_TICKET">Ticket ST-1 not recognized</cas:authenticationFailure></cas:serviceResponse>`,
			failCode: "INVALID_TICKET"},
		{name: "success without user", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user> </cas:user></cas:authenticationSuccess></cas:serviceResponse>`, bad: true},
		{name: "html error page", body: `<html><body>502 Bad Gateway</body></html>`, bad: true},
		{name: "empty answer", body: `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"></cas:serviceResponse>`, bad: true},
		{name: "not xml", body: `{"user":"admin"}`, bad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := auth.ParseCASResponse([]byte(tt.body))
			var f *auth.CASFailure
			switch {
			case tt.failCode != "":
				if !errors.As(err, &f) || f.Code != tt.failCode || f.Reason() == "" {
					t.Fatalf("err = %v, want CAS failure %s", err, tt.failCode)
				}
				return
			case tt.bad:
				if err == nil || errors.As(err, &f) {
					t.Fatalf("err = %v, want a plain error", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if u.User != tt.user {
				t.Errorf("user = %q, want %q", u.User, tt.user)
			}
			for k, want := range tt.attrs {
				if got := u.Attr(k); got != want {
					t.Errorf("attribute %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestParseLogoutRequest(t *testing.T) {
	for _, tt := range []struct {
		name, body, ticket string
	}{
		{"cas server's request", ssotest.LogoutRequest("ST-12-abcdef-cas"), "ST-12-abcdef-cas"},
		{"wrong namespace", `<samlp:LogoutRequest xmlns:samlp="urn:example:other"><samlp:SessionIndex>ST-1</samlp:SessionIndex></samlp:LogoutRequest>`, ""},
		{"no namespace", `<LogoutRequest><SessionIndex>ST-1</SessionIndex></LogoutRequest>`, ""},
		{"no session index", `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">u</saml:NameID></samlp:LogoutRequest>`, ""},
		{"two session indexes", `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:SessionIndex>ST-1</samlp:SessionIndex><samlp:SessionIndex>ST-2</samlp:SessionIndex></samlp:LogoutRequest>`, ""},
		{"blank ticket", `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:SessionIndex> </samlp:SessionIndex></samlp:LogoutRequest>`, ""},
		{"ticket with spaces", `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:SessionIndex>ST 1</samlp:SessionIndex></samlp:LogoutRequest>`, ""},
		{"other root", `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:SessionIndex>ST-1</samlp:SessionIndex></samlp:AuthnRequest>`, ""},
		{"empty", "", ""},
		{"not xml", "ST-1", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.ParseLogoutRequest(tt.body)
			if tt.ticket == "" {
				if err == nil {
					t.Fatalf("ParseLogoutRequest = %q, want a refusal", got)
				}
				return
			}
			if err != nil || got != tt.ticket {
				t.Fatalf("ParseLogoutRequest = %q, %v; want %q", got, err, tt.ticket)
			}
		})
	}
}

// casTicket signs in at the fake CAS server as a browser would and returns the ticket it
// sent back to service.
func casTicket(t *testing.T, cas auth.CAS, service string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(cas.LoginURL(service))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), service) {
		t.Fatalf("CAS login answered %d to %q, want a redirect to the service", resp.StatusCode, loc)
	}
	return loc.Query().Get("ticket")
}

func TestCASValidate(t *testing.T) {
	fake := ssotest.NewCAS(t)
	ctx := context.Background()
	service := "https://pay.example.edu.cn/auth/cas/callback?next=%2Fpay"
	fake.SignInAs("2026000001", map[string]string{"employeeNumber": "2026000001", "name": "张三"})

	local := allowing(egress.HostPortOf(fake.URL))
	for _, v2 := range []bool{false, true} {
		cas := auth.CAS{ServerURL: fake.BaseURL(), Protocol2: v2, Client: local}
		ticket := casTicket(t, cas, service)
		u, err := cas.Validate(ctx, service, ticket)
		if err != nil {
			t.Fatalf("protocol2=%v: %v", v2, err)
		}
		if u.User != "2026000001" {
			t.Errorf("protocol2=%v: user = %q", v2, u.User)
		}
		if got, want := u.Attr("name"), map[bool]string{false: "张三", true: ""}[v2]; got != want {
			t.Errorf("protocol2=%v: name attribute = %q, want %q", v2, got, want)
		}
		// A ticket is good once.
		var f *auth.CASFailure
		if _, err := cas.Validate(ctx, service, ticket); !errors.As(err, &f) || f.Code != "INVALID_TICKET" {
			t.Errorf("protocol2=%v: second validation = %v, want INVALID_TICKET", v2, err)
		}
	}
	if got := strings.Join(fake.Validations(), " "); got != "/cas/p3/serviceValidate /cas/p3/serviceValidate /cas/serviceValidate /cas/serviceValidate" {
		t.Errorf("validation paths = %s", got)
	}

	cas := auth.CAS{ServerURL: fake.BaseURL(), Client: local}
	ticket := casTicket(t, cas, service)
	var f *auth.CASFailure
	if _, err := cas.Validate(ctx, "https://evil.example.com/", ticket); !errors.As(err, &f) || f.Code != "INVALID_SERVICE" {
		t.Errorf("ticket for another service = %v, want INVALID_SERVICE", err)
	}
	if _, err := cas.Validate(ctx, service, "ST 1 <x>"); !errors.As(err, &f) {
		t.Errorf("malformed ticket = %v, want a CAS failure without asking the server", err)
	}
	down := auth.CAS{ServerURL: "http://127.0.0.1:1/cas", Client: allowing("127.0.0.1:1")}
	if _, err := down.Validate(ctx, service, "ST-1"); err == nil || errors.As(err, &f) {
		t.Errorf("server down = %v, want a plain error", err)
	}
}

// TestCASValidateRefusesInternalServer: without the allow-list, ticket validation does
// not reach a CAS server on an internal address.
func TestCASValidateRefusesInternalServer(t *testing.T) {
	fake := ssotest.NewCAS(t)
	service := "https://pay.example.edu.cn/auth/cas/callback"
	fake.SignInAs("2026000001", nil)
	ticket := casTicket(t, auth.CAS{ServerURL: fake.BaseURL()}, service)
	var refused *egress.Refused
	if _, err := (auth.CAS{ServerURL: fake.BaseURL()}).Validate(context.Background(), service, ticket); !errors.As(err, &refused) {
		t.Errorf("Validate against a loopback CAS server = %v, want refused by the guard", err)
	}
	if n := len(fake.Validations()); n != 0 {
		t.Errorf("the CAS server was asked %d times", n)
	}
	if _, err := (auth.CAS{ServerURL: fake.BaseURL(), Client: allowing(egress.HostPortOf(fake.URL))}).Validate(context.Background(), service, ticket); err != nil {
		t.Errorf("Validate with the server allowed: %v", err)
	}
}
