package cashier_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/auth/ssotest"
	"campuspay/app/egress"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

// setSettings stores plain settings as finance would.
func setSettings(t *testing.T, p *servertest.Platform, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if _, err := p.Settings.Set(context.Background(), kv[i], kv[i+1], "admin"); err != nil {
			t.Fatalf("set %s: %v", kv[i], err)
		}
	}
}

// follow fetches an absolute address (the identity provider's) in the browser, expecting
// a redirect, and returns where it points.
func follow(t *testing.T, b *servertest.Browser, addr string, want int) string {
	t.Helper()
	code, body, resp := b.Do("GET", addr, nil, false)
	if code != want {
		t.Fatalf("GET %s: status %d, want %d\n%s", addr, code, want, body)
	}
	return resp.Header.Get("Location")
}

// casSignIn goes through the CAS login as a browser does: our login redirect, the CAS
// server's redirect back with a ticket, our callback. It returns the callback's answer.
func casSignIn(t *testing.T, b *servertest.Browser, cas *ssotest.CAS, next string) (int, string, *http.Response) {
	t.Helper()
	to := follow(t, b, "/auth/cas/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	if !strings.HasPrefix(to, cas.BaseURL()+"/login?service=") {
		t.Fatalf("CAS login redirected to %q, want the CAS server", to)
	}
	back := follow(t, b, to, http.StatusFound)
	return b.Do("GET", back, nil, false)
}

// signedIn reports whether the browser's session is signed in (and to whom: the name in
// the top bar of its landing page).
func signedIn(t *testing.T, b *servertest.Browser, page string) bool {
	t.Helper()
	code, _ := b.Get(page)
	return code == http.StatusOK
}

func TestCASSignIn(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		cas := ssotest.NewCAS(t)

		// Off: no button, no route.
		b := p.NewBrowser(t)
		if _, body := b.Get("/login"); strings.Contains(body, "统一身份认证登录") || strings.Contains(body, "login-divider") {
			t.Error("login page offers CAS while it is off")
		}
		if code, _ := b.Get("/auth/cas/login"); code != http.StatusNotFound {
			t.Errorf("CAS login while off: %d, want 404", code)
		}

		setSettings(t, p, settings.CASEnabled, "true", settings.CASURL, cas.BaseURL())
		// The CAS server listens on loopback: until the allow-list names it, the platform
		// does not ask it to validate anything.
		{
			b := p.NewBrowser(t)
			cas.SignInAs(student, nil)
			code, body, _ := casSignIn(t, b, cas, "")
			if code != http.StatusBadGateway || !strings.Contains(body, "暂时无法连接统一身份认证系统") || len(cas.Validations()) != 0 {
				t.Errorf("CAS on loopback without the allow-list: %d, %d validations; want 502 and none", code, len(cas.Validations()))
			}
		}
		setSettings(t, p, settings.EgressAllow, egress.HostPortOf(cas.URL))
		if _, body := b.Get("/login?next=/pay/history"); !strings.Contains(body, `href="/auth/cas/login?next=%2fpay%2fhistory"`) ||
			!strings.Contains(body, `<div class="login-divider">或使用平台账号</div>`) || strings.Contains(body, "OIDC 登录") {
			t.Errorf("login page lacks the CAS button above the local form:\n%s", body)
		}

		t.Run("known payer lands on /pay", func(t *testing.T) {
			b := p.NewBrowser(t)
			cas.SignInAs(student, map[string]string{"employeeNumber": student, "name": "别的名字"})
			code, body, resp := casSignIn(t, b, cas, "")
			if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay" {
				t.Fatalf("callback: %d to %q, want 303 to /pay\n%s", code, resp.Header.Get("Location"), body)
			}
			if code, body := b.Get("/pay"); code != http.StatusOK || !strings.Contains(body, "2026-2027学年学费") {
				t.Errorf("/pay after CAS sign-in: %d", code)
			}
			if got := cas.Validations(); got[len(got)-1] != "/cas/p3/serviceValidate" {
				t.Errorf("validated at %v, want CAS 3.0's /p3/serviceValidate", got)
			}
		})

		t.Run("next is kept, and stays on this site", func(t *testing.T) {
			for next, want := range map[string]string{"/pay/history": "/pay/history", "//evil.example.com/x": "/pay", "https://evil.example.com": "/pay"} {
				b := p.NewBrowser(t)
				cas.SignInAs(student, nil)
				if _, _, resp := casSignIn(t, b, cas, next); resp.Header.Get("Location") != want {
					t.Errorf("next %q: landed on %q, want %q", next, resp.Header.Get("Location"), want)
				}
			}
		})

		t.Run("staff land in the console", func(t *testing.T) {
			b := p.NewBrowser(t)
			cas.SignInAs("finance", nil)
			if code, _, resp := casSignIn(t, b, cas, "/pay"); code != http.StatusSeeOther || resp.Header.Get("Location") != "/console" {
				t.Fatalf("staff callback: %d to %q, want 303 to /console", code, resp.Header.Get("Location"))
			}
			if code, body := b.Get("/console"); code != http.StatusOK || !strings.Contains(body, "刘会计") {
				t.Errorf("/console after staff CAS sign-in: %d", code)
			}
		})

		t.Run("unknown number: refused, then created when allowed", func(t *testing.T) {
			b := p.NewBrowser(t)
			cas.SignInAs("2026009999", map[string]string{"employeeNumber": "2026009999", "name": "<script>alert(1)</script>", "mobile": "13700000000"})
			code, body, _ := casSignIn(t, b, cas, "")
			if code != http.StatusForbidden || !strings.Contains(body, "请联系财务处开通账号") {
				t.Fatalf("unknown payer with creation off: %d, want 403 saying to contact finance\n%s", code, body)
			}
			if signedIn(t, b, "/pay") {
				t.Fatal("an unknown payer was signed in")
			}
			setSettings(t, p, settings.SSOAutoCreate, "true")
			defer setSettings(t, p, settings.SSOAutoCreate, "false")
			if code, _, resp := casSignIn(t, b, cas, ""); code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay" {
				t.Fatalf("unknown payer with creation on: %d to %q, want 303 to /pay", code, resp.Header.Get("Location"))
			}
			code, body = b.Get("/pay")
			if code != http.StatusOK || strings.Contains(body, "<script>alert(1)</script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("/pay of the new payer: %d; the name from CAS must come back escaped", code)
			}
			u := new(store.User)
			if err := p.DB.NewSelect().Model(u).Where("payer_no = ?", "2026009999").Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if u.Roles != store.RolePayer || u.Phone != "13700000000" || u.PasswordHash != "" {
				t.Errorf("created payer = %+v", u)
			}
		})

		t.Run("disabled payer is refused", func(t *testing.T) {
			if _, err := p.DB.NewUpdate().Model((*store.User)(nil)).Set("disabled = ?", true).Where("payer_no = ?", frozenStudent).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := p.NewBrowser(t)
			cas.SignInAs(frozenStudent, nil)
			if code, body, _ := casSignIn(t, b, cas, ""); code != http.StatusForbidden || !strings.Contains(body, "已停用") {
				t.Errorf("disabled payer: %d, want 403 saying the account is disabled", code)
			}
			if signedIn(t, b, "/pay") {
				t.Error("a disabled payer was signed in")
			}
		})

		t.Run("failed ticket: error page, no session", func(t *testing.T) {
			b := p.NewBrowser(t)
			code, body, _ := b.Do("GET", "/auth/cas/callback?next=%2Fpay&ticket=ST-1-forged", nil, false)
			if code != http.StatusUnauthorized || !strings.Contains(body, "登录票据无效或已过期") || !strings.Contains(body, "INVALID_TICKET") {
				t.Fatalf("forged ticket: %d, want 401 with the CAS server's reason\n%s", code, body)
			}
			if signedIn(t, b, "/pay") {
				t.Error("a forged ticket signed someone in")
			}
			// A real ticket used twice (a replayed callback) is refused the second time.
			cas.SignInAs(student, nil)
			casSignIn(t, b, cas, "")
			b2 := p.NewBrowser(t)
			replay := "/auth/cas/callback?next=%2Fpay&ticket=" + url.QueryEscape(cas.LastTicket())
			if code, _, _ := b2.Do("GET", replay, nil, false); code != http.StatusUnauthorized || signedIn(t, b2, "/pay") {
				t.Errorf("replayed ticket: %d, want 401 and no session", code)
			}
			if code, _, _ := b2.Do("GET", "/auth/cas/callback?next=%2Fpay", nil, false); code != http.StatusBadRequest {
				t.Errorf("callback without a ticket: %d, want 400", code)
			}
		})

		t.Run("single logout ends that session only", func(t *testing.T) {
			alice, bob := p.NewBrowser(t), p.NewBrowser(t)
			cas.SignInAs(student, nil)
			casSignIn(t, alice, cas, "")
			aliceTicket := cas.LastTicket()
			cas.SignInAs("2026000002", nil)
			casSignIn(t, bob, cas, "")
			if !signedIn(t, alice, "/pay") || !signedIn(t, bob, "/pay") {
				t.Fatal("both should be signed in")
			}
			server := &http.Client{} // the CAS server: no cookies, no CSRF token
			post := func(body string) int {
				resp, err := server.PostForm(p.URL+"/auth/cas/callback?next=%2Fpay", url.Values{"logoutRequest": {body}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for _, bad := range []string{"", "<x/>", `<samlp:LogoutRequest xmlns:samlp="urn:other"><samlp:SessionIndex>` + aliceTicket + `</samlp:SessionIndex></samlp:LogoutRequest>`} {
				if code := post(bad); code != http.StatusBadRequest {
					t.Errorf("malformed logout request %q: %d, want 400", bad, code)
				}
			}
			if !signedIn(t, alice, "/pay") {
				t.Fatal("a malformed logout request ended a session")
			}
			if code := post(ssotest.LogoutRequest("ST-999-unknown")); code != http.StatusOK || !signedIn(t, alice, "/pay") {
				t.Errorf("logout of an unknown ticket: %d; no session may end", code)
			}
			if code := post(ssotest.LogoutRequest(aliceTicket)); code != http.StatusOK {
				t.Fatalf("single logout: %d, want 200", code)
			}
			if signedIn(t, alice, "/pay") {
				t.Error("alice is still signed in after single logout")
			}
			if !signedIn(t, bob, "/pay") {
				t.Error("single logout of alice's ticket signed bob out")
			}
		})

		t.Run("logout goes through the CAS server", func(t *testing.T) {
			b := p.NewBrowser(t)
			cas.SignInAs(student, nil)
			casSignIn(t, b, cas, "")
			b.Get("/pay")
			code, _, resp := b.Post("/logout", nil)
			want := cas.BaseURL() + "/logout?service=" + url.QueryEscape(p.URL+"/login")
			if code != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("logout: %d to %q, want 303 to %q", code, resp.Header.Get("Location"), want)
			}
			if signedIn(t, b, "/pay") {
				t.Error("still signed in after logout")
			}
			// A local sign-in logs out locally only.
			b = p.NewBrowser(t)
			b.Login(student, password)
			b.Get("/pay")
			if _, _, resp := b.Post("/logout", nil); resp.Header.Get("Location") != "/login" {
				t.Errorf("local logout went to %q, want /login", resp.Header.Get("Location"))
			}
		})

		t.Run("CAS 2.0 server", func(t *testing.T) {
			setSettings(t, p, settings.CASProtocol2, "true")
			defer setSettings(t, p, settings.CASProtocol2, "false")
			b := p.NewBrowser(t)
			cas.SignInAs(student, nil)
			if code, _, resp := casSignIn(t, b, cas, ""); code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay" {
				t.Fatalf("CAS 2.0 sign-in: %d to %q", code, resp.Header.Get("Location"))
			}
			if got := cas.Validations(); got[len(got)-1] != "/cas/serviceValidate" {
				t.Errorf("validated at %v, want /cas/serviceValidate", got)
			}
		})

		var n int
		p.DB.NewSelect().Model((*store.AuditLog)(nil)).ColumnExpr("COUNT(*)").Where("action = ? AND actor = ?", "login.sso", student).Scan(context.Background(), &n)
		if n == 0 {
			t.Error("no login.sso audit row for the payer's CAS sign-ins")
		}
	})
}

// oidcSignIn goes through the OIDC login as a browser does; state, when not nil, changes
// the state the provider sends back. It returns the callback's answer.
func oidcSignIn(t *testing.T, b *servertest.Browser, op *ssotest.OIDC, next string, state func(string) string) (int, string, *http.Response) {
	t.Helper()
	to := follow(t, b, "/auth/oidc/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	if !strings.HasPrefix(to, op.URL+"/authorize?") {
		t.Fatalf("OIDC login redirected to %q, want the provider", to)
	}
	back, err := url.Parse(follow(t, b, to, http.StatusFound))
	if err != nil {
		t.Fatal(err)
	}
	if state != nil {
		q := back.Query()
		q.Set("state", state(q.Get("state")))
		back.RawQuery = q.Encode()
	}
	return b.Do("GET", back.String(), nil, false)
}

func TestOIDCSignIn(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		op := ssotest.NewOIDC(t, "campuspay", "oidc-secret-1")
		setSettings(t, p, settings.OIDCEnabled, "true", settings.OIDCIssuer, op.URL, settings.OIDCClientID, "campuspay")
		// The provider listens on loopback: refused until the allow-list names it.
		if code, body, _ := p.NewBrowser(t).Do("GET", "/auth/oidc/login", nil, false); code != http.StatusBadGateway || !strings.Contains(body, "暂时无法连接统一身份认证平台") {
			t.Errorf("OIDC on loopback without the allow-list: %d, want 502 saying the provider cannot be reached", code)
		}
		setSettings(t, p, settings.EgressAllow, egress.HostPortOf(op.URL))
		if _, err := p.Settings.Save(ctx, settings.Form{Values: map[string]string{settings.OIDCClientSecret: "oidc-secret-1"}}, p.Clients.Secrets, "admin", ""); err != nil {
			t.Fatal(err)
		}
		if _, body := p.NewBrowser(t).Get("/login"); !strings.Contains(body, `href="/auth/oidc/login?next=%2fpay"`) || !strings.Contains(body, "login-divider") {
			t.Errorf("login page lacks the OIDC button")
		}
		payer := map[string]any{"sub": "u-0001", "preferred_username": "zhangsan", "employee_number": student, "name": "张三"}

		t.Run("good flow signs the payer in", func(t *testing.T) {
			b := p.NewBrowser(t)
			op.SignInAs(payer, nil)
			code, body, resp := oidcSignIn(t, b, op, "/pay/history", nil)
			if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/history" {
				t.Fatalf("callback: %d to %q, want 303 to /pay/history\n%s", code, resp.Header.Get("Location"), body)
			}
			if !signedIn(t, b, "/pay") {
				t.Error("not signed in after a good OIDC flow")
			}
			if errs := op.TokenErrors(); len(errs) > 0 {
				t.Errorf("the provider refused token requests: %v", errs)
			}
		})

		t.Run("staff land in the console", func(t *testing.T) {
			b := p.NewBrowser(t)
			op.SignInAs(map[string]any{"sub": "u-staff", "preferred_username": "finance", "name": "刘会计"}, nil)
			if code, _, resp := oidcSignIn(t, b, op, "", nil); code != http.StatusSeeOther || resp.Header.Get("Location") != "/console" {
				t.Fatalf("staff callback: %d to %q, want 303 to /console", code, resp.Header.Get("Location"))
			}
			if !signedIn(t, b, "/console") {
				t.Error("staff not signed in to the console")
			}
		})

		for _, tt := range []struct {
			name   string
			tamper func(map[string]any)
			state  func(string) string
			claims map[string]any
			status int
			says   string
		}{
			{name: "wrong nonce", tamper: func(c map[string]any) { c["nonce"] = "x" }, status: http.StatusUnauthorized, says: "与本次登录请求不符"},
			{name: "wrong audience", tamper: func(c map[string]any) { c["aud"] = "another-app" }, status: http.StatusUnauthorized, says: "身份令牌校验未通过"},
			{name: "expired token", tamper: func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }, status: http.StatusUnauthorized, says: "身份令牌校验未通过"},
			{name: "bad state", state: func(s string) string { return "forged-" + s }, status: http.StatusUnauthorized, says: "登录请求已失效"},
			{name: "provider refuses", claims: map[string]any{}, status: http.StatusUnauthorized, says: "已取消"},
			{name: "unknown person", claims: map[string]any{"sub": "u-x", "preferred_username": "nobody", "employee_number": "2026008888"}, status: http.StatusForbidden, says: "请联系财务处开通账号"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				b := p.NewBrowser(t)
				claims := payer
				if tt.claims != nil {
					claims = tt.claims
				}
				if len(claims) == 0 {
					claims = nil // the provider answers access_denied
				}
				op.SignInAs(claims, tt.tamper)
				code, body, _ := oidcSignIn(t, b, op, "", tt.state)
				if code != tt.status || !strings.Contains(body, tt.says) {
					t.Fatalf("%s: %d, want %d saying %q\n%s", tt.name, code, tt.status, tt.says, body)
				}
				if signedIn(t, b, "/pay") {
					t.Errorf("%s: signed in anyway", tt.name)
				}
			})
		}

		t.Run("a callback is good once", func(t *testing.T) {
			b := p.NewBrowser(t)
			op.SignInAs(payer, nil)
			to := follow(t, b, "/auth/oidc/login", http.StatusSeeOther)
			back := follow(t, b, to, http.StatusFound)
			if code, _, _ := b.Do("GET", back, nil, false); code != http.StatusSeeOther {
				t.Fatalf("first callback: %d", code)
			}
			other := p.NewBrowser(t) // someone who got hold of the callback address
			if code, _, _ := other.Do("GET", back, nil, false); code != http.StatusUnauthorized || signedIn(t, other, "/pay") {
				t.Errorf("replayed callback in another browser: %d, want 401 and no session", code)
			}
		})
	})
}
