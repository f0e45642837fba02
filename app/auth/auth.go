// Package auth signs people in and out (local passwords now; CAS and OIDC plug in beside),
// throttles failed sign-ins, keeps sessions in the database, checks roles, and guards
// every state-changing request with a CSRF token.
package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"campuspay/store"
)

// Throttling: after MaxFailures failed sign-ins for one login name (or one address) within
// FailureWindow, sign-in is refused for LockFor.
const (
	MaxFailures   = 5
	FailureWindow = 15 * time.Minute
	LockFor       = 15 * time.Minute
	bcryptCost    = 10
)

var (
	ErrBadCredentials = errors.New("auth: bad credentials")
	ErrDisabled       = errors.New("auth: account disabled")
)

// LockedError says sign-in is refused until a time.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string { return "auth: locked until " + e.Until.Format(time.RFC3339) }

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// Service checks credentials.
type Service struct {
	DB  *bun.DB
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return store.UTC(s.Now())
	}
	return store.UTC(time.Now())
}

// dummyHash makes a sign-in for an unknown login take as long as one for a known login.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("campuspay-dummy"), bcryptCost)

// Authenticate checks a login name (or payer number) and password, throttling failures per
// login name and per address, and audits the attempt.
func (s *Service) Authenticate(ctx context.Context, login, password, ip string) (*store.User, error) {
	login = strings.TrimSpace(login)
	now := s.now()
	keys := []string{"login:" + strings.ToLower(login), "ip:" + ip}
	for _, k := range keys {
		if until, locked := s.locked(ctx, k, now); locked {
			store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: login, Action: "login.locked", IP: ip})
			return nil, &LockedError{Until: until}
		}
	}
	user := new(store.User)
	err := s.DB.NewSelect().Model(user).Where("login = ? OR payer_no = ?", login, login).Limit(1).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("auth: find user: %w", err)
	}
	hash := dummyHash
	if err == nil && user.PasswordHash != "" {
		hash = []byte(user.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil || user.PasswordHash == "" {
		for _, k := range keys {
			s.fail(ctx, k, now)
		}
		store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: login, Action: "login.failed", IP: ip})
		return nil, ErrBadCredentials
	}
	if user.Disabled {
		store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: user.Login, Action: "login.disabled", IP: ip})
		return nil, ErrDisabled
	}
	s.DB.NewDelete().Model((*store.LoginFailure)(nil)).Where("k = ?", keys[0]).Exec(ctx)
	store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: user.Login, Action: "login", TargetType: "user", TargetID: user.Login, IP: ip})
	return user, nil
}

func (s *Service) locked(ctx context.Context, key string, now time.Time) (time.Time, bool) {
	f := new(store.LoginFailure)
	if err := s.DB.NewSelect().Model(f).Where("k = ?", key).Scan(ctx); err != nil {
		return time.Time{}, false
	}
	if f.LockedUntil != nil && now.Before(*f.LockedUntil) {
		return *f.LockedUntil, true
	}
	return time.Time{}, false
}

// fail counts one failure for key, locking it when the window fills.
func (s *Service) fail(ctx context.Context, key string, now time.Time) {
	f := new(store.LoginFailure)
	err := s.DB.NewSelect().Model(f).Where("k = ?", key).Scan(ctx)
	if err != nil || now.Sub(f.WindowStart) > FailureWindow || (f.LockedUntil != nil && !now.Before(*f.LockedUntil)) {
		f = &store.LoginFailure{Key: key, Failures: 0, WindowStart: now}
	}
	f.Failures++
	if f.Failures >= MaxFailures {
		until := now.Add(LockFor)
		f.LockedUntil = &until
	}
	s.DB.NewDelete().Model((*store.LoginFailure)(nil)).Where("k = ?", key).Exec(ctx)
	s.DB.NewInsert().Model(f).Exec(ctx)
}

// User returns a user by id.
func (s *Service) User(ctx context.Context, id int64) (*store.User, error) {
	u := new(store.User)
	if err := s.DB.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("auth: user %d: %w", id, err)
	}
	return u, nil
}
