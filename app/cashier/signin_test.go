package cashier_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"campuspay/app/server/servertest"
	"campuspay/store"
)

// nextProbes are "next" values as they appear in a link's query string (percent-encoded),
// none of which may send a browser off the site or add a header.
var nextProbes = []string{
	"/pay%0d%0aSet-Cookie:%20campuspay_session=attacker%3B%20Path=/", // header injection
	"/pay%0aLocation:%20https://evil.example/",
	"/%09/evil.example/x", // browsers drop the tab: //evil.example/x
	"/%0a/evil.example/x",
	"/%0d/evil.example/x",
	"/%20/evil.example/x",
	"//evil.example/x",
	"/%2fevil.example/x", // encoded slashes
	"/%2F/evil.example/x",
	"%2f%2fevil.example/x",
	"/%252f%252fevil.example/x", // encoded twice
	"/%5cevil.example/x",        // backslash: browsers read /\ as //
	"%5c%5cevil.example/x",
	"/pay%5c..%5c..%5cevil",
	"https://evil.example/pay",
	"HTTPS://evil.example",
	"http:evil.example",
	"http:/evil.example",
	"javascript:alert(1)",
	"pay",
	"evil.example",
	"/pay%00",
	"%20/pay",
	"/pay%E2%80%A8x", // a Unicode line separator
}

// sessionCookies are the Set-Cookie headers of our session cookie in resp.
func sessionCookies(resp *http.Response) []string {
	var out []string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "campuspay_session=") {
			out = append(out, v)
		}
	}
	return out
}

// checkRedirect fails the test unless resp redirects to want with at most max session
// cookies, none of them the attacker's, and no header it did not mean to send.
func checkRedirect(t *testing.T, what string, resp *http.Response, want string, max int) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("%s: status %d Location %q, want 303 to %q", what, resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if n := len(resp.Header.Values("Location")); n != 1 {
		t.Errorf("%s: %d Location headers, want 1", what, n)
	}
	cookies := sessionCookies(resp)
	if len(cookies) > max {
		t.Errorf("%s: %d session cookies %q, want at most %d", what, len(cookies), cookies, max)
	}
	for _, c := range cookies {
		if strings.Contains(c, "attacker") {
			t.Errorf("%s: the attacker's session cookie was set: %q", what, c)
		}
	}
}

func TestSignInNextStaysOnSite(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		for _, probe := range nextProbes {
			value, err := url.QueryUnescape(probe)
			if err != nil {
				t.Fatal(err)
			}
			// POST /login with the value the hidden field carries: exactly one session
			// cookie (the new session's) and the payer's home page.
			b := p.NewBrowser(t)
			b.Get("/login?next=" + probe)
			_, _, resp := b.Post("/login", url.Values{"login": {student}, "password": {password}, "next": {value}})
			checkRedirect(t, "POST /login next="+probe, resp, "/pay", 1)
			if n := len(sessionCookies(resp)); n != 1 {
				t.Errorf("POST /login next=%s: %d session cookies, want exactly 1", probe, n)
			}
			// GET /login?next=… when already signed in.
			_, _, resp = b.Do("GET", "/login?next="+probe, nil, false)
			checkRedirect(t, "GET /login next="+probe, resp, "/pay", 1)
		}

		// Staff whose next is refused land in the console.
		admin := p.NewBrowser(t)
		admin.Get("/login")
		_, _, resp := admin.Post("/login", url.Values{"login": {"admin"}, "password": {"admin123456"}, "next": {"/\t/evil.example/x"}})
		checkRedirect(t, "staff with a refused next", resp, "/console", 1)

		// A path on the site is kept, query and all.
		for _, next := range []string{"/pay/history", "/pay?bill=12", "/console/items?status=approved&page=2"} {
			b := p.NewBrowser(t)
			b.Get("/login")
			_, _, resp := b.Post("/login", url.Values{"login": {"admin"}, "password": {"admin123456"}, "next": {next}})
			checkRedirect(t, "next="+next, resp, next, 1)
		}

		// The sign-in page a protected page sends a visitor to comes back to it, encoded.
		_, _, resp = p.NewBrowser(t).Do("GET", "/pay/history?x=1&y=2", nil, false)
		if loc := resp.Header.Get("Location"); loc != "/login?next=%2Fpay%2Fhistory%3Fx%3D1%26y%3D2" {
			t.Errorf("sign-in redirect = %q, want next encoded as one query value", loc)
		}
	})
}

// Forty simultaneous POST /login for one account: from the sixth on they are refused, and
// the right password among them does not get in once refused.
func TestParallelSignInsAreThrottled(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		const n = 40
		const victim = "2026000002"
		browsers := make([]*servertest.Browser, n)
		for i := range browsers {
			browsers[i] = p.NewBrowser(t)
			browsers[i].Get("/login")
		}
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		for i, b := range browsers {
			pw := "wrong-" + itoa(int64(i))
			if i == n/2 {
				pw = password
			}
			wg.Go(func() {
				code, body, _ := b.Post("/login", url.Values{"login": {victim}, "password": {pw}, "next": {"/pay"}})
				kind := "other"
				switch {
				case code == http.StatusSeeOther:
					kind = "signed in"
				case strings.Contains(body, "登录失败次数过多"):
					kind = "refused"
				case strings.Contains(body, "不正确"):
					kind = "wrong"
				}
				mu.Lock()
				counts[kind]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if checked := counts["signed in"] + counts["wrong"]; checked > 5 || counts["refused"] < n-5 || counts["other"] != 0 {
			t.Fatalf("answers %v; want at most 5 passwords checked and the rest refused", counts)
		}
		if counts["signed in"] == 0 {
			b := p.NewBrowser(t)
			b.Get("/login")
			code, body, _ := b.Post("/login", url.Values{"login": {victim}, "password": {password}, "next": {"/pay"}})
			if code == http.StatusSeeOther || !strings.Contains(body, "登录失败次数过多") {
				t.Errorf("right password after the lock: status %d, want refused as locked", code)
			}
		}
	})
}

// The owner is told of the failed attempts since their last sign-in, once.
func TestOwnerIsToldOfFailedSignIns(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := p.NewBrowser(t)
		b.Login(student, password)
		if _, page := b.Get("/pay"); strings.Contains(page, "登录失败") {
			t.Errorf("a clean sign-in shows a notice of failed sign-ins")
		}
		stranger := p.NewBrowser(t)
		stranger.Get("/login")
		for range 3 {
			stranger.Post("/login", url.Values{"login": {student}, "password": {"guess-123"}})
		}
		owner := p.NewBrowser(t)
		owner.Login(student, password)
		_, page := owner.Get("/pay")
		if !strings.Contains(page, "有 3 次登录失败") || !strings.Contains(page, "127.0.0.1") {
			t.Errorf("home page after sign-in does not tell of 3 failed attempts from 127.0.0.1")
		}
		if _, page := owner.Get("/pay"); strings.Contains(page, "登录失败") {
			t.Errorf("the notice is shown again on the next page")
		}
		// Next sign-in: nothing new to tell.
		again := p.NewBrowser(t)
		again.Login(student, password)
		if _, page := again.Get("/pay"); strings.Contains(page, "登录失败") {
			t.Errorf("the notice is shown again at the next sign-in")
		}
	})
}

// Twelve wrong campus-card passwords, then the right one: the card is locked after five
// and the right password during the lock pays nothing.
func TestCampusCardPasswordGuessingIsLocked(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		before, err := p.Card.Balance(ctx, student)
		if err != nil {
			t.Fatal(err)
		}
		orderNo := createOrder(t, b, "campuscard", ids["CET-2026-12"])
		b.Get("/pay/orders/" + orderNo)
		for i := range 12 {
			_, body, _ := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"00000" + itoa(int64(i%10))}}, true)
			if i >= 5 && !strings.Contains(body, "校园卡密码错误次数过多") {
				t.Errorf("wrong password %d: answer %q, want the lock explained", i+1, body)
			}
		}
		code, body, _ := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"123456"}}, true)
		if code == http.StatusNoContent || !strings.Contains(body, "校园卡密码错误次数过多") || !strings.Contains(body, "即使输入正确的密码也无法支付") {
			t.Errorf("right password during the lock: status %d answer %q, want refused with the reason", code, body)
		}
		if after, _ := p.Card.Balance(ctx, student); after != before {
			t.Errorf("balance %d → %d, want unchanged", before, after)
		}
		o, _ := p.Billing.Order(ctx, orderNo)
		if o.Status != store.OrderOpen || o.Lines[0].Bill.AmountPaidFen != 0 {
			t.Errorf("order %s, bill paid %d; want open and nothing paid", o.Status, o.Lines[0].Bill.AmountPaidFen)
		}
	})
}

// Order look-ups that find nothing are throttled per address.
func TestLookupIsThrottledPerAddress(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := p.NewBrowser(t)
		b.Get("/lookup")
		for i := range 10 {
			if code, _, _ := b.Post("/lookup", url.Values{"order_no": {"P2026" + itoa(int64(1000+i))}, "phone": {"13900000000"}}); code != http.StatusNotFound {
				t.Fatalf("look-up %d: status %d, want 404", i+1, code)
			}
		}
		// Another visitor from the same address is refused too.
		other := p.NewBrowser(t)
		other.Get("/lookup")
		code, body, resp := other.Post("/lookup", url.Values{"order_no": {"P20261234"}, "phone": {"13900000000"}})
		if code != http.StatusTooManyRequests || !strings.Contains(body, "查询次数过多") || resp.Header.Get("Retry-After") == "" {
			t.Errorf("eleventh look-up: status %d Retry-After %q, want 429 saying 查询次数过多", code, resp.Header.Get("Retry-After"))
		}
	})
}

// The CSRF token is taken from the form or the header, never from the query string.
func TestCSRFTokenNotFromQuery(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := p.NewBrowser(t)
		b.Login(student, password)
		b.Get("/pay")
		ids := billIDs(t, p, student)
		form := url.Values{"bill": {ids["CET-2026-12"]}, "channel": {"campuscard"}}
		code, _, _ := b.Do("POST", "/pay/orders?_csrf="+b.CSRF, form, false)
		if code != http.StatusForbidden {
			t.Errorf("token in the query string: status %d, want 403", code)
		}
		if n, _ := p.DB.NewSelect().Table("orders").Count(context.Background()); n != 0 {
			t.Errorf("a refused request made %d orders", n)
		}
		form.Set("_csrf", b.CSRF)
		if code, _, _ := b.Do("POST", "/pay/orders", form, false); code != http.StatusSeeOther {
			t.Errorf("token in the form: status %d, want 303", code)
		}
	})
}

// Opening the sign-in page stores nothing: its form's token comes from a cookie of the
// browser (the pre-session cookie), so a crawler or the term-start rush writes no session
// row by looking. The form signs in with that token and that cookie only, and the sign-in
// writes the one row of the new session.
func TestSignInPageWritesNoSession(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		rows := func() int64 {
			n, err := p.DB.NewSelect().Table("sessions").Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := rows()
		b := p.NewBrowser(t)
		code, _, resp := b.Do("GET", "/login", nil, false)
		if code != http.StatusOK || b.CSRF == "" {
			t.Fatalf("GET /login: status %d token %q, want the form with a token", code, b.CSRF)
		}
		if n := rows(); n != before {
			t.Errorf("opening the sign-in page wrote %d session rows, want none", n-before)
		}
		if n := len(sessionCookies(resp)); n != 0 {
			t.Errorf("opening the sign-in page set %d session cookies, want none", n)
		}
		var pre *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "campuspay_presession" {
				pre = c
			}
		}
		if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/" {
			t.Fatalf("pre-session cookie %v: want one, HttpOnly, SameSite=Lax, Path=/", pre)
		}
		token := b.CSRF

		form := func(tok string) url.Values {
			return url.Values{"login": {student}, "password": {password}, "next": {"/pay"}, "_csrf": {tok}}
		}
		other := p.NewBrowser(t)
		other.Get("/login") // a cookie of its own
		for _, refused := range []struct {
			what    string
			browser *servertest.Browser
			form    url.Values
		}{
			{"a wrong token", b, form(strings.Repeat("0", 64))},
			{"the token without the cookie", p.NewBrowser(t), form(token)},
			{"the token with another browser's cookie", other, form(token)},
		} {
			code, _, resp := refused.browser.Do("POST", "/login", refused.form, false)
			if code != http.StatusForbidden {
				t.Errorf("sign-in with %s: status %d, want 403", refused.what, code)
			}
			if n := len(sessionCookies(resp)); n != 0 {
				t.Errorf("sign-in with %s set %d session cookies, want none", refused.what, n)
			}
			if n := rows(); n != before {
				t.Errorf("sign-in with %s wrote %d session rows, want none", refused.what, n-before)
			}
		}

		code, body, resp := b.Do("POST", "/login", form(token), false)
		if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay" {
			t.Fatalf("sign-in with the page's token: status %d Location %q, want 303 to /pay\n%s", code, resp.Header.Get("Location"), body)
		}
		if n := rows(); n != before+1 {
			t.Errorf("session rows after sign-in: %d more, want 1", n-before)
		}
		if code, page := b.Get("/pay"); code != http.StatusOK || !strings.Contains(page, "退出") {
			t.Errorf("the payer's page after sign-in: status %d, want it shown signed in", code)
		}
	})
}
