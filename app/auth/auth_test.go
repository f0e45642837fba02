package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newUser(t *testing.T, db *bun.DB, login, password string, disabled bool) {
	t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u := &store.User{Login: login, Name: login, PasswordHash: hash, Roles: "payer", Status: "active", Disabled: disabled, CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(u).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
		s := &auth.Service{DB: db, Now: clk.Now}
		newUser(t, db, "alice", "right-password", false)
		newUser(t, db, "gone", "right-password", true)

		if u, err := s.Authenticate(ctx, "alice", "right-password", "10.0.0.1"); err != nil || u.Login != "alice" {
			t.Fatalf("Authenticate(alice, right) = %v, %v; want alice", u, err)
		}
		if _, err := s.Authenticate(ctx, "alice", "wrong", "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("wrong password: %v, want ErrBadCredentials", err)
		}
		if _, err := s.Authenticate(ctx, "nobody", "x", "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("unknown login: %v, want ErrBadCredentials (the same answer as a wrong password)", err)
		}
		if _, err := s.Authenticate(ctx, "gone", "right-password", "10.0.0.2"); !errors.Is(err, auth.ErrDisabled) {
			t.Errorf("disabled account: %v, want ErrDisabled", err)
		}

		// Throttling: five failures lock the login from that address, even for the right
		// password; the owner elsewhere is not locked out.
		for range auth.MaxFailures {
			s.Authenticate(ctx, "alice", "guess", "10.0.0.3")
		}
		var locked *auth.LockedError
		if _, err := s.Authenticate(ctx, "alice", "right-password", "10.0.0.3"); !errors.As(err, &locked) {
			t.Fatalf("after %d failures: %v, want LockedError", auth.MaxFailures, err)
		}
		if _, err := s.Authenticate(ctx, "alice", "right-password", "10.0.0.4"); err != nil {
			t.Errorf("the owner at another address: %v, want success", err)
		}
		clk.Advance(auth.LockFor + time.Second)
		if _, err := s.Authenticate(ctx, "alice", "right-password", "10.0.0.3"); err != nil {
			t.Errorf("after the lock ran out: %v, want success", err)
		}
		fails, _ := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = 'login.failed'").Count(ctx)
		// wrong password, unknown login, and the guesses until the lock: 1 + 1 + MaxFailures.
		// Refusals while locked are not password checks and are not counted.
		if want := int64(2 + auth.MaxFailures); fails != want {
			t.Errorf("audited failures = %d, want %d", fails, want)
		}
	})
}
