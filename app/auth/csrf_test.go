package auth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

// formsApp is an instance's pages with a form: GET /form shows the token a form would
// carry, POST /form is a write behind the CSRF check, POST /login/:login signs in behind
// it (as the sign-in page does), GET /note saves a value (as a guest order does).
func formsApp(db *bun.DB, key []byte, secure bool) *fiber.App {
	s := auth.NewSessions(db, secure, time.Hour, key)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(s.Middleware())
	app.Get("/form", func(c *fiber.Ctx) error { return c.SendString(auth.CSRFToken(c)) })
	app.Post("/form", auth.CSRF(), func(c *fiber.Ctx) error { return c.SendString("done") })
	app.Post("/login/:login", auth.CSRF(), func(c *fiber.Ctx) error {
		u := new(store.User)
		if err := db.NewSelect().Model(u).Where("login = ?", c.Params("login")).Scan(c.UserContext()); err != nil {
			return err
		}
		return auth.SignIn(c, u, 0)
	})
	app.Get("/note", func(c *fiber.Ctx) error {
		auth.Session(c).Set("note", c.Query("v"))
		return auth.SaveSession(c, auth.Session(c))
	})
	return app
}

// visit sends a request carrying cookies (name → value); a POST sends token in the form's
// _csrf field, or in the X-CSRF-Token header (as HTMX does) when header is set.
func visit(t *testing.T, app *fiber.App, method, path string, cookies map[string]string, token string, header bool) (int, string, *http.Response) {
	t.Helper()
	var body io.Reader
	if method == "POST" && !header {
		body = strings.NewReader(url.Values{auth.CSRFField: {token}}.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if header {
		req.Header.Set(auth.CSRFHeader, token)
	}
	for name, value := range cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// A visitor without a stored session is shown forms whose token comes from a cookie of
// their browser: no row is written for it, any instance (sharing the key) accepts it, and
// nothing else passes: another token, the token without the cookie, the token with another
// browser's cookie, an instance with another key.
func TestFormsWithoutAStoredSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a, b := formsApp(db, csrfKey, false), formsApp(db, csrfKey, false)

		code, token, resp := visit(t, a, "GET", "/form", nil, "", false)
		pre := cookieOf(resp, auth.PreSessionCookie)
		if code != http.StatusOK || token == "" || pre == nil {
			t.Fatalf("GET /form: status %d token %q pre-session cookie %v, want 200, a token and the cookie", code, token, pre)
		}
		if !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/" || pre.Secure || pre.MaxAge != 0 || !pre.Expires.IsZero() {
			t.Errorf("pre-session cookie %q: want HttpOnly, SameSite=Lax, Path=/, not Secure over http, for the browser's session", resp.Header.Values("Set-Cookie"))
		}
		if len(pre.Value) != 64 {
			t.Errorf("pre-session cookie value %q, want 64 hex digits", pre.Value)
		}
		if cookieOf(resp, auth.SessionCookie) != nil {
			t.Error("GET /form set a session cookie")
		}
		if n := count(t, db, "sessions"); n != 0 {
			t.Fatalf("showing a form wrote %d session rows, want 0", n)
		}

		// The same browser is shown the same token, and is not given another cookie.
		browser := map[string]string{auth.PreSessionCookie: pre.Value}
		_, again, resp := visit(t, b, "GET", "/form", browser, "", false)
		if again != token || cookieOf(resp, auth.PreSessionCookie) != nil {
			t.Errorf("second view on the other instance: token %q (was %q), cookie set again %v", again, token, cookieOf(resp, auth.PreSessionCookie) != nil)
		}

		// Accepted by either instance, in the form or in the header.
		for _, app := range []*fiber.App{a, b} {
			for _, header := range []bool{false, true} {
				if code, _, _ := visit(t, app, "POST", "/form", browser, token, header); code != http.StatusOK {
					t.Errorf("POST with the browser's cookie and token (header %v): status %d, want 200", header, code)
				}
			}
		}

		_, _, resp = visit(t, a, "GET", "/form", nil, "", false)
		another := map[string]string{auth.PreSessionCookie: cookieOf(resp, auth.PreSessionCookie).Value}
		wrongKey := formsApp(db, []byte("another-platform's-key-0123456789abcdef"), false)
		for _, bad := range []struct {
			what    string
			app     *fiber.App
			cookies map[string]string
			token   string
		}{
			{"a made-up token", a, browser, strings.Repeat("0", 64)},
			{"no token", a, browser, ""},
			{"the token without the cookie", a, nil, token},
			{"the token with another browser's cookie", a, another, token},
			{"the token with a cookie that cannot be one", a, map[string]string{auth.PreSessionCookie: "x"}, token},
			{"neither cookie nor token", a, nil, ""},
			{"an instance with another key", wrongKey, browser, token},
		} {
			if code, _, _ := visit(t, bad.app, "POST", "/form", bad.cookies, bad.token, false); code != http.StatusForbidden {
				t.Errorf("POST with %s: status %d, want 403", bad.what, code)
			}
		}

		// A cookie that cannot be one is replaced.
		_, _, resp = visit(t, a, "GET", "/form", map[string]string{auth.PreSessionCookie: "not-a-cookie"}, "", false)
		if c := cookieOf(resp, auth.PreSessionCookie); c == nil || len(c.Value) != 64 {
			t.Errorf("a malformed pre-session cookie was not replaced: %v", c)
		}

		// Behind HTTPS the cookie is Secure.
		_, _, resp = visit(t, formsApp(db, csrfKey, true), "GET", "/form", nil, "", false)
		if c := cookieOf(resp, auth.PreSessionCookie); c == nil || !c.Secure {
			t.Errorf("pre-session cookie behind HTTPS: %v, want Secure", c)
		}
		if n := count(t, db, "sessions"); n != 0 {
			t.Errorf("session rows = %d, want 0: nothing here stores a session", n)
		}
	})
}

// When the visitor's session is first stored (a guest order, a single sign-on's state), the
// forms already shown to them keep working: the session keeps their token.
func TestFirstSaveKeepsTheFormToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a, b := formsApp(db, csrfKey, false), formsApp(db, csrfKey, false)
		_, token, resp := visit(t, a, "GET", "/form", nil, "", false)
		pre := cookieOf(resp, auth.PreSessionCookie).Value

		code, _, resp := visit(t, b, "GET", "/note?v=order", map[string]string{auth.PreSessionCookie: pre}, "", false)
		sess := cookieOf(resp, auth.SessionCookie)
		if code != http.StatusOK || sess == nil || count(t, db, "sessions") != 1 {
			t.Fatalf("saving a value: status %d, session cookie %v, %d rows; want 200, a session and its row", code, sess, count(t, db, "sessions"))
		}
		both := map[string]string{auth.PreSessionCookie: pre, auth.SessionCookie: sess.Value}
		if code, _, _ := visit(t, a, "POST", "/form", both, token, false); code != http.StatusOK {
			t.Errorf("form shown before the session was stored: status %d, want 200", code)
		}
		if code, _, _ := visit(t, a, "POST", "/form", map[string]string{auth.SessionCookie: sess.Value}, token, false); code != http.StatusOK {
			t.Errorf("the same with the session cookie alone: status %d, want 200 (the session holds the token)", code)
		}
		if _, again, _ := visit(t, b, "GET", "/form", both, "", false); again != token {
			t.Errorf("pages after the save carry %q, want the token shown before (%q)", again, token)
		}
		if code, _, _ := visit(t, a, "POST", "/form", both, strings.Repeat("0", 64), false); code != http.StatusForbidden {
			t.Errorf("a made-up token with the stored session: status %d, want 403", code)
		}

		// A visitor shown no form before gets a token with the first save: no second write
		// when a page then asks for one.
		_, _, resp = visit(t, a, "GET", "/note?v=handoff", nil, "", false)
		fresh := map[string]string{auth.SessionCookie: cookieOf(resp, auth.SessionCookie).Value}
		_, tok, resp := visit(t, b, "GET", "/form", fresh, "", false)
		if tok == "" || cookieOf(resp, auth.SessionCookie) != nil {
			t.Errorf("a stored session without a form before: token %q, saved again %v; want a token and no second save", tok, cookieOf(resp, auth.SessionCookie) != nil)
		}
		if code, _, _ := visit(t, a, "POST", "/form", fresh, tok, false); code != http.StatusOK {
			t.Errorf("its token: status %d, want 200", code)
		}
	})
}

// Signing in from a form shown without a session inserts the new session's row (the one
// write of the sign-in's session) under a new id, with a token of its own: the sign-in
// page's token opens nothing of the signed-in session.
func TestSignInFromAFormWithoutASession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		newUser(t, db, "alice", "irrelevant-Pw1", false)
		a, b := formsApp(db, csrfKey, false), formsApp(db, csrfKey, false)
		_, token, resp := visit(t, a, "GET", "/form", nil, "", false)
		browser := map[string]string{auth.PreSessionCookie: cookieOf(resp, auth.PreSessionCookie).Value}

		if code, _, _ := visit(t, b, "POST", "/login/alice", browser, "forged", false); code != http.StatusForbidden || count(t, db, "sessions") != 0 {
			t.Fatalf("sign-in with a forged token: status %d, %d rows; want 403 and none", code, count(t, db, "sessions"))
		}
		code, _, resp := visit(t, b, "POST", "/login/alice", browser, token, false)
		sess := cookieOf(resp, auth.SessionCookie)
		if code != http.StatusOK || sess == nil {
			t.Fatalf("sign-in: status %d session cookie %v, want 200 and a session", code, sess)
		}
		if n := count(t, db, "sessions"); n != 1 {
			t.Errorf("session rows after sign-in = %d, want 1", n)
		}
		browser[auth.SessionCookie] = sess.Value
		_, signedIn, _ := visit(t, a, "GET", "/form", browser, "", false)
		if signedIn == "" || signedIn == token {
			t.Errorf("token after sign-in %q, want a new one (the sign-in page's was %q)", signedIn, token)
		}
		if code, _, _ := visit(t, a, "POST", "/form", browser, token, false); code != http.StatusForbidden {
			t.Errorf("the sign-in page's token after sign-in: status %d, want 403", code)
		}
		if code, _, _ := visit(t, a, "POST", "/form", browser, signedIn, false); code != http.StatusOK {
			t.Errorf("the signed-in session's token: status %d, want 200", code)
		}
	})
}
