package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

// csrfKey is the key every instance is given (the platform derives it from the master
// secret they share).
var csrfKey = []byte("test-csrf-key-0123456789abcdef0123456789")

// instance is one platform instance's pages over a shared database: it signs a user in,
// says who is asking, and signs out.
func instance(db *bun.DB) *fiber.App {
	s := auth.NewSessions(db, false, time.Hour, csrfKey)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(s.Middleware())
	app.Get("/signin/:login", func(c *fiber.Ctx) error {
		u := new(store.User)
		if err := db.NewSelect().Model(u).Where("login = ?", c.Params("login")).Scan(c.UserContext()); err != nil {
			return err
		}
		return auth.SignIn(c, u, 0)
	})
	app.Get("/who", func(c *fiber.Ctx) error {
		p := auth.Current(c)
		if p == nil {
			return c.SendString("nobody")
		}
		return c.SendString(p.Login + " " + strings.Join(p.Roles, ","))
	})
	app.Get("/note", func(c *fiber.Ctx) error {
		auth.Session(c).Set("note", c.Query("v"))
		return auth.SaveSession(c, auth.Session(c))
	})
	app.Get("/note/read", func(c *fiber.Ctx) error {
		v, _ := auth.Session(c).Get("note").(string)
		return c.SendString(v)
	})
	app.Get("/signout", func(c *fiber.Ctx) error { return auth.SignOut(c) })
	return app
}

func get(t *testing.T, app *fiber.App, path, cookie string) (string, *http.Response) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", auth.SessionCookie+"="+cookie)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	return string(b), resp
}

func sessionCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// Sessions are shared by every instance, and a sign-out, a disabled account or a change of
// roles made through one shows on the other at its next request: nothing about a session
// is kept in an instance.
func TestSessionsAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for _, login := range []string{"alice", "bob", "admin"} {
			newUser(t, db, login, "irrelevant-Pw1", false)
		}
		a, b := instance(db), instance(db)
		svc := &auth.Service{DB: db}
		admin := auth.Actor{UserID: -1, Login: "admin"}

		_, resp := get(t, a, "/signin/alice", "")
		alice := sessionCookie(resp)
		if alice == "" {
			t.Fatal("sign-in set no session cookie")
		}
		if who, _ := get(t, b, "/who", alice); who != "alice payer" {
			t.Fatalf("instance B sees %q, want alice payer", who)
		}

		// A value saved through one instance is read by the other.
		get(t, b, "/note?v=hello", alice)
		if v, _ := get(t, a, "/note/read", alice); v != "hello" {
			t.Errorf("instance A reads the note as %q, want hello", v)
		}

		// A change of roles applies at the next request everywhere.
		var u store.User
		if err := db.NewSelect().Model(&u).Where("login = ?", "alice").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateUser(ctx, u.ID, auth.UserInput{Login: "alice", Name: "alice", Roles: []string{"leader"}}, admin); err != nil {
			t.Fatal(err)
		}
		if who, _ := get(t, b, "/who", alice); who != "alice leader" {
			t.Errorf("after the role change instance B sees %q, want alice leader", who)
		}

		// Disabling ends the sessions, seen from both instances.
		if _, err := svc.SetDisabled(ctx, u.ID, true, admin); err != nil {
			t.Fatal(err)
		}
		for name, app := range map[string]*fiber.App{"A": a, "B": b} {
			if who, _ := get(t, app, "/who", alice); who != "nobody" {
				t.Errorf("after disabling, instance %s sees %q, want nobody", name, who)
			}
		}

		// A sign-out through A ends the session on B.
		_, resp = get(t, a, "/signin/bob", "")
		bob := sessionCookie(resp)
		if who, _ := get(t, b, "/who", bob); who != "bob payer" {
			t.Fatalf("instance B sees %q, want bob payer", who)
		}
		if _, resp := get(t, a, "/signout", bob); sessionCookie(resp) != "" {
			t.Error("sign-out did not clear the cookie")
		}
		if who, _ := get(t, b, "/who", bob); who != "nobody" {
			t.Errorf("after signing out on A, instance B sees %q, want nobody", who)
		}

		// Cookies that cannot be a session are not looked up, and a made-up one is nobody.
		for _, c := range []string{"x", strings.Repeat("g", 64), strings.Repeat("a", 64), "' OR 1=1 --"} {
			if who, _ := get(t, b, "/who", c); who != "nobody" {
				t.Errorf("cookie %q: instance B sees %q, want nobody", c, who)
			}
		}
	})
}

// A sign-in gives the browser a new session id: the id it had before (here stored, with a
// value saved under it) is worthless afterwards, on every instance, and leaves no row
// behind; the new id is the signed-in user's.
func TestSignInEndsTheEarlierSessionID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		newUser(t, db, "alice", "irrelevant-Pw1", false)
		a, b := instance(db), instance(db)
		_, resp := get(t, a, "/note?v=before", "")
		before := sessionCookie(resp)
		if v, _ := get(t, b, "/note/read", before); v != "before" {
			t.Fatalf("the session before sign-in reads %q, want before", v)
		}
		_, resp = get(t, a, "/signin/alice", before)
		after := sessionCookie(resp)
		if after == "" || after == before {
			t.Fatalf("sign-in cookie %q, want a new id (was %q)", after, before)
		}
		if who, _ := get(t, b, "/who", after); who != "alice payer" {
			t.Errorf("the new id is %q on instance B, want alice payer", who)
		}
		if who, _ := get(t, b, "/who", before); who != "nobody" {
			t.Errorf("the earlier id is %q on instance B, want nobody", who)
		}
		if v, _ := get(t, b, "/note/read", before); v != "" {
			t.Errorf("the earlier id still reads %q, want nothing", v)
		}
		if n := count(t, db, "sessions"); n != 1 {
			t.Errorf("session rows = %d, want 1 (the signed-in one)", n)
		}
	})
}

func count(t *testing.T, db *bun.DB, table string) int64 {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
