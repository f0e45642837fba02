package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/store"
	"campuspay/store/storetest"
)

// Forty simultaneous hits on a limit of five: exactly five are allowed, on either database,
// counted by one statement that returns the row or (MySQL, TiDB) read back in its
// transaction.
func TestHitCountsConcurrentHitsOnce(t *testing.T) {
	for _, readBack := range []bool{false, true} {
		t.Run(fmt.Sprintf("readback=%v", readBack), func(t *testing.T) {
			defer auth.SetHitReadsBack(readBack)()
			hitCountsConcurrentHitsOnce(t)
		})
	}
}

func hitCountsConcurrentHitsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		l := auth.Limit{Scope: "test", Max: 5, Window: time.Minute, LockFor: 10 * time.Minute}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for range 40 {
			wg.Go(func() {
				v, err := auth.Hit(ctx, db, l, "k", now)
				if err != nil {
					errs <- err
				}
				if v.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := allowed.Load(); n != 5 {
			t.Fatalf("allowed %d of 40 simultaneous hits, want 5", n)
		}
		// The fifth hit locked the key for LockFor, past the window's end.
		v, err := auth.Hit(ctx, db, l, "k", now.Add(2*time.Minute))
		if err != nil || v.Allowed || !v.Until.Equal(now.Add(l.LockFor)) {
			t.Errorf("after the window, within the lock: %+v, %v; want refused until %v", v, err, now.Add(l.LockFor))
		}
		if v, _ := auth.Hit(ctx, db, l, "k", now.Add(l.LockFor)); !v.Allowed || v.Hits != 1 {
			t.Errorf("once the lock ran out: %+v, want allowed, counting from 1", v)
		}
		if v, _ := auth.Hit(ctx, db, l, "other", now); !v.Allowed {
			t.Errorf("another key: %+v, want allowed", v)
		}
	})
}

// A rate limit (no lock) refuses over Max until its window ends and says when; a forgiven
// hit is not counted.
func TestHitRateLimit(t *testing.T) {
	for _, readBack := range []bool{false, true} {
		t.Run(fmt.Sprintf("readback=%v", readBack), func(t *testing.T) {
			defer auth.SetHitReadsBack(readBack)()
			hitRateLimit(t)
		})
	}
}

func hitRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		l := auth.Limit{Scope: "rate", Max: 3, Window: time.Minute}
		for i := range 3 {
			if v, err := auth.Hit(ctx, db, l, "app", now.Add(time.Duration(i)*time.Second)); err != nil || !v.Allowed {
				t.Fatalf("hit %d: %+v, %v; want allowed", i+1, v, err)
			}
		}
		at := now.Add(20 * time.Second)
		v, err := auth.Hit(ctx, db, l, "app", at)
		if err != nil || v.Allowed {
			t.Fatalf("fourth hit: %+v, %v; want refused", v, err)
		}
		if got := v.RetryAfter(at); got != 40*time.Second {
			t.Errorf("RetryAfter = %v, want 40s (the window's end)", got)
		}
		if v, _ := auth.Hit(ctx, db, l, "app", now.Add(time.Minute)); !v.Allowed {
			t.Errorf("in the next window: %+v, want allowed", v)
		}
		if err := auth.Forgive(ctx, db, l, "app"); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if v, _ := auth.Hit(ctx, db, l, "app", now.Add(time.Minute+time.Second)); !v.Allowed {
				t.Fatalf("hit %d after a forgiven one: %+v, want allowed", i+1, v)
			}
		}
	})
}

// Forty simultaneous wrong passwords on one account from one address: exactly five are
// checked, the rest are refused, and then the right password is refused too. Every guess
// is wrong on purpose: a right password clears its pair's count (it was no guess), so one
// that finished while the others were still arriving would rightly let more of them be
// checked — which is what made this test fail on MariaDB when the right password was
// among the forty.
func TestAuthenticateParallelGuesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &auth.Service{DB: db}
		newUser(t, db, "bob", "right-password", false)
		var wg sync.WaitGroup
		var bad, locked atomic.Int32
		for i := range 40 {
			wg.Go(func() {
				_, err := s.Authenticate(ctx, "bob", fmt.Sprintf("guess-%d", i), "203.0.113.9")
				var le *auth.LockedError
				switch {
				case errors.Is(err, auth.ErrBadCredentials):
					bad.Add(1)
				case errors.As(err, &le):
					locked.Add(1)
				default:
					t.Errorf("Authenticate with a wrong password: %v, want refused", err)
				}
			})
		}
		wg.Wait()
		if bad.Load() != auth.MaxFailures || locked.Load() != 40-auth.MaxFailures {
			t.Fatalf("wrong %d, refused %d; want exactly %d passwords checked", bad.Load(), locked.Load(), auth.MaxFailures)
		}
		var le *auth.LockedError
		if _, err := s.Authenticate(ctx, "bob", "right-password", "203.0.113.9"); !errors.As(err, &le) {
			t.Errorf("right password after the lock: %v, want LockedError", err)
		}
	})
}

// One stranger locks only their own address; guessing spread over many addresses locks
// the account everywhere; the owner is told at their next sign-in.
func TestAuthenticateLocksPairThenAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)}
		s := &auth.Service{DB: db, Now: clk.Now}
		newUser(t, db, "carol", "right-password", false)
		if _, err := s.Authenticate(ctx, "carol", "right-password", "10.1.0.1"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.FailedSince(ctx, mustUser(t, db, "carol")); err != nil || f.Count != 0 {
			t.Fatalf("FailedSince after a clean sign-in = %+v, %v; want none", f, err)
		}

		// A stranger hammers from one address: only that address is locked.
		clk.Advance(time.Minute)
		for range 30 {
			s.Authenticate(ctx, "carol", "guess", "198.51.100.1")
		}
		var le *auth.LockedError
		if _, err := s.Authenticate(ctx, "carol", "right-password", "198.51.100.1"); !errors.As(err, &le) {
			t.Errorf("right password from the guessing address: %v, want LockedError", err)
		}
		if _, err := s.Authenticate(ctx, "carol", "right-password", "10.1.0.1"); err != nil {
			t.Fatalf("the owner at home while a stranger is locked out: %v, want success", err)
		}
		f, err := s.FailedSince(ctx, mustUser(t, db, "carol"))
		if err != nil || f.Count != 31 || len(f.Addresses) != 1 || f.Addresses[0] != "198.51.100.1" || !f.Last.Equal(clk.Now()) {
			t.Errorf("FailedSince = %+v, %v; want 31 attempts (30 guesses, the refused right one) from 198.51.100.1 at %v", f, err, clk.Now())
		}

		// Guessing spread over many addresses, five each: the account locks everywhere once
		// AccountMaxFailures fail, the owner's address too.
		clk.Advance(time.Minute)
		for i := range auth.AccountMaxFailures / auth.MaxFailures {
			for range auth.MaxFailures {
				s.Authenticate(ctx, "carol", "guess", fmt.Sprintf("192.0.2.%d", i+1))
			}
		}
		if _, err := s.Authenticate(ctx, "carol", "right-password", "10.1.0.1"); !errors.As(err, &le) {
			t.Errorf("after %d failures from %d addresses: %v, want the account locked", auth.AccountMaxFailures, auth.AccountMaxFailures/auth.MaxFailures, err)
		}
		clk.Advance(auth.LockFor + time.Second)
		if _, err := s.Authenticate(ctx, "carol", "right-password", "10.1.0.1"); err != nil {
			t.Fatalf("after the account lock ran out: %v, want success", err)
		}
		f, _ = s.FailedSince(ctx, mustUser(t, db, "carol"))
		if want := auth.AccountMaxFailures + 1; f.Count != want || len(f.Addresses) != 5 {
			t.Errorf("FailedSince = %+v; want %d attempts (the failures and the owner's refused one) from five addresses", f, want)
		}
	})
}

// An administrator's password reset lifts the locks on the account at every address.
func TestPasswordResetLiftsSignInLocks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &auth.Service{DB: db}
		newUser(t, db, "dave", "right-password", false)
		for range auth.MaxFailures {
			s.Authenticate(ctx, "dave", "guess", "10.2.0.1")
		}
		u := mustUser(t, db, "dave")
		_, pw, err := s.ResetPassword(ctx, u.ID, auth.PasswordPolicy{MinLength: 8}, auth.Actor{Login: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "dave", pw, "10.2.0.1"); err != nil {
			t.Errorf("new password from the locked address after a reset: %v, want success", err)
		}
	})
}

func mustUser(t *testing.T, db *bun.DB, login string) *store.User {
	t.Helper()
	u := new(store.User)
	if err := db.NewSelect().Model(u).Where("login = ?", login).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return u
}

// BenchmarkHit is the cost every sign-in, card payment, look-up and API call now pays.
func BenchmarkHit(b *testing.B) {
	dbs := map[string]func(testing.TB) *bun.DB{"sqlite": storetest.SQLite}
	if os.Getenv(storetest.EnvMySQL) != "" {
		dbs["mysql"] = storetest.MySQL
	}
	for name, open := range dbs {
		b.Run(name, func(b *testing.B) {
			db := open(b)
			ctx := context.Background()
			l := auth.Limit{Scope: "bench", Max: 1 << 30, Window: time.Minute}
			now := time.Now()
			i := 0
			for b.Loop() {
				if _, err := auth.Hit(ctx, db, l, strconv.Itoa(i%100), now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// A campus NAT at term start: more students than the address's limit sign in at once from
// one address and every one gets in — the address limit counts failures, not attempts in
// flight. Failures from that address on many accounts still lock it.
func TestAddressLimitCountsFailuresOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &auth.Service{DB: db}
		hash, err := auth.HashPassword("right-password")
		if err != nil {
			t.Fatal(err)
		}
		n := auth.AddressMaxFailures + 10
		now := time.Now()
		users := make([]*store.User, n)
		for i := range users {
			users[i] = &store.User{Login: fmt.Sprintf("s%03d", i), Name: "学生", PasswordHash: hash, Roles: "payer", Status: "active", CreatedAt: now, UpdatedAt: now}
		}
		if _, err := db.NewInsert().Model(&users).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		const nat = "10.200.0.1"
		var wg sync.WaitGroup
		var in atomic.Int32
		for _, u := range users {
			wg.Go(func() {
				if _, err := s.Authenticate(ctx, u.Login, "right-password", nat); err == nil {
					in.Add(1)
				} else {
					t.Errorf("%s from the campus address: %v", u.Login, err)
				}
			})
		}
		wg.Wait()
		if int(in.Load()) != n {
			t.Fatalf("%d of %d simultaneous good sign-ins from one address got in", in.Load(), n)
		}

		// One wrong password on each of AddressMaxFailures accounts: the address is locked,
		// for a right password too.
		for _, u := range users[:auth.AddressMaxFailures] {
			wg.Go(func() {
				if _, err := s.Authenticate(ctx, u.Login, "guess", nat); !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("guess on %s: %v, want bad credentials", u.Login, err)
				}
			})
		}
		wg.Wait()
		var le *auth.LockedError
		if _, err := s.Authenticate(ctx, users[n-1].Login, "right-password", nat); !errors.As(err, &le) {
			t.Errorf("after %d failures from one address: %v, want it locked", auth.AddressMaxFailures, err)
		}
	})
}

// At an account's first sign-in every failure before it is told (there is no previous
// sign-in to count from); at the next, none of them again.
func TestFirstSignInIsToldEveryEarlierFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)}
		s := &auth.Service{DB: db, Now: clk.Now}
		newUser(t, db, "erin", "right-password", false)
		for _, ip := range []string{"203.0.113.7", "203.0.113.8"} {
			if _, err := s.Authenticate(ctx, "erin", "guess", ip); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("guess from %s: %v, want ErrBadCredentials", ip, err)
			}
			clk.Advance(time.Second)
		}
		if _, err := s.Authenticate(ctx, "erin", "right-password", "10.3.0.1"); err != nil {
			t.Fatal(err)
		}
		f, err := s.FailedSince(ctx, mustUser(t, db, "erin"))
		if err != nil || f.Count != 2 || len(f.Addresses) != 2 || f.Addresses[0] != "203.0.113.8" || !f.Last.Equal(clk.Now().Add(-time.Second)) {
			t.Errorf("FailedSince at the first sign-in = %+v, %v; want 2 from 203.0.113.8 then 203.0.113.7, the last at %v", f, err, clk.Now().Add(-time.Second))
		}
		clk.Advance(time.Minute)
		if _, err := s.Authenticate(ctx, "erin", "right-password", "10.3.0.1"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.FailedSince(ctx, mustUser(t, db, "erin")); err != nil || f.Count != 0 {
			t.Errorf("FailedSince at the next sign-in = %+v, %v; want none", f, err)
		}
	})
}
