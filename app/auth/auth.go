// Package auth signs people in and out (local passwords now; CAS and OIDC plug in beside),
// throttles failed sign-ins, keeps sessions in the database, checks roles, and guards
// every state-changing request with a CSRF token.
package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"campuspay/store"
)

// Throttling sign-in. Every attempt is counted before its password is checked (and taken
// back when the password was right), so that simultaneous guesses cannot outrun the count:
//
//   - per account and address pair: MaxFailures attempts within FailureWindow lock that
//     pair for LockFor. A stranger guessing from one address locks out only themselves.
//   - per account, whatever the address: AccountMaxFailures within AccountFailureWindow
//     lock the account everywhere for LockFor. Guessing spread over many addresses is
//     still stopped, and locking the owner out takes at least four addresses' worth of
//     failures (an administrator's password reset lifts it at once).
//   - per address, whatever the account: AddressMaxFailures failures within FailureWindow
//     lock the address (one address trying one password on many accounts). The number is
//     high because a campus network's many students may share one address, and this limit
//     counts failures only, after the check: counted before it, like the two above, a
//     term-start rush of over 100 simultaneous good sign-ins from one campus NAT locked the
//     whole campus out (found by campuspay rush). What a guesser gains from that — up to as
//     many extra tries as it has in flight at once, spread over accounts — the per-pair and
//     per-account limits, still counted before the check, bound for every account.
const (
	MaxFailures          = 5
	FailureWindow        = 15 * time.Minute
	LockFor              = 15 * time.Minute
	AccountMaxFailures   = 20
	AccountFailureWindow = time.Hour
	AddressMaxFailures   = 100
	bcryptCost           = 10
)

// The sign-in limits, in the order an attempt is counted on them.
var (
	LoginPair    = Limit{Scope: "login.pair", Max: MaxFailures, Window: FailureWindow, LockFor: LockFor}
	LoginAccount = Limit{Scope: "login.account", Max: AccountMaxFailures, Window: AccountFailureWindow, LockFor: LockFor}
	LoginAddress = Limit{Scope: "login.address", Max: AddressMaxFailures, Window: FailureWindow, LockFor: LockFor}
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

// Authenticate checks a login name (or payer number) and password, throttling attempts per
// account and address pair, per account and per address (see MaxFailures), and audits the
// attempt against the account it names, for the owner's notice at their next sign-in.
func (s *Service) Authenticate(ctx context.Context, login, password, ip string) (*store.User, error) {
	login = strings.TrimSpace(login)
	now := s.now()
	user := new(store.User)
	err := s.DB.NewSelect().Model(user).Where("login = ? OR payer_no = ?", login, login).Limit(1).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("auth: find user: %w", err)
	}
	found := err == nil
	account, audit := "name:"+strings.ToLower(login), &store.AuditLog{At: now, Actor: login, IP: ip}
	if found {
		// By id: the login name and the payer number are two ways into one account.
		account, audit.TargetType, audit.TargetID = accountKey(user.ID), "user", user.Login
	}
	keys := []string{account + "|" + ip, account}
	limits := []Limit{LoginPair, LoginAccount}
	if v, err := Peek(ctx, s.DB, LoginAddress, ip, now); err != nil {
		return nil, err
	} else if !v.Allowed {
		audit.Action = "login.locked"
		store.Audit(ctx, s.DB, audit)
		return nil, &LockedError{Until: v.Until}
	}
	for i, l := range limits {
		v, err := Hit(ctx, s.DB, l, keys[i], now)
		if err != nil {
			return nil, err
		}
		if !v.Allowed {
			audit.Action = "login.locked"
			store.Audit(ctx, s.DB, audit)
			return nil, &LockedError{Until: v.Until}
		}
	}
	hash := dummyHash
	if found && user.PasswordHash != "" {
		hash = []byte(user.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !found || user.PasswordHash == "" {
		audit.Action = "login.failed"
		store.Audit(ctx, s.DB, audit)
		if _, err := Hit(ctx, s.DB, LoginAddress, ip, now); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	// The right password: this attempt was no guess. The pair starts afresh; the
	// account's and the address's counts keep other addresses' and accounts' failures.
	if err := Clear(ctx, s.DB, LoginPair.Scope, keys[0]); err != nil {
		return nil, err
	}
	if err := Forgive(ctx, s.DB, LoginAccount, keys[1]); err != nil {
		return nil, err
	}
	if user.Disabled {
		audit.Actor, audit.Action = user.Login, "login.disabled"
		store.Audit(ctx, s.DB, audit)
		return nil, ErrDisabled
	}
	audit.Actor, audit.Action = user.Login, "login"
	store.Audit(ctx, s.DB, audit)
	return user, nil
}

func accountKey(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

// liftSignInLocks forgets every sign-in failure counted against the account, from every
// address (an administrator reset its password).
func liftSignInLocks(ctx context.Context, db bun.IDB, userID int64) error {
	account := accountKey(userID)
	_, err := db.NewDelete().Table("throttles").
		Where("(scope = ? AND k = ?) OR (scope = ? AND k LIKE ?)", LoginAccount.Scope, account, LoginPair.Scope, account+"|%").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("auth: lift sign-in locks: %w", err)
	}
	return nil
}

// FailedSignIns is what the owner of an account is told at sign-in: the failed attempts on
// it since their previous sign-in.
type FailedSignIns struct {
	Count     int
	Last      time.Time
	Addresses []string // the most recent first, at most five
}

// FailedSince returns the failed and refused sign-ins on the user's account between their
// previous sign-in (of any kind) and the one just audited; a zero Count when there were
// none.
func (s *Service) FailedSince(ctx context.Context, u *store.User) (FailedSignIns, error) {
	var out FailedSignIns
	// One statement: the previous sign-in's time is a subquery (none: every failure counts).
	prev := s.DB.NewSelect().Table("audit_logs").Column("at").
		Where("target_type = 'user' AND target_id = ? AND action IN ('login', 'login.sso')", u.Login).
		OrderExpr("id DESC").Limit(1).Offset(1)
	q := s.DB.NewSelect().Table("audit_logs").Column("at", "ip").
		Where("target_type = 'user' AND target_id = ? AND action IN ('login.failed', 'login.locked')", u.Login).
		Where("(at > (?) OR (?) IS NULL)", prev, prev).
		OrderExpr("id DESC")
	var rows []struct {
		At time.Time `bun:"at"`
		IP string    `bun:"ip"`
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return out, fmt.Errorf("auth: failed sign-ins: %w", err)
	}
	out.Count = len(rows)
	for i, r := range rows {
		if i == 0 {
			out.Last = r.At
		}
		if len(out.Addresses) < 5 && !slices.Contains(out.Addresses, r.IP) {
			out.Addresses = append(out.Addresses, r.IP)
		}
	}
	return out, nil
}

// User returns a user by id.
func (s *Service) User(ctx context.Context, id int64) (*store.User, error) {
	u := new(store.User)
	if err := s.DB.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("auth: user %d: %w", id, err)
	}
	return u, nil
}
