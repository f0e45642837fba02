package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/store"
)

// Single sign-on, shared by CAS and OIDC: who the identity provider says signed in is
// matched to a platform user (by payer number, then by login name), created as a payer on
// first sign-in when the setting allows, refused when disabled, and audited.

// Identity providers.
const (
	ProviderCAS  = "cas"
	ProviderOIDC = "oidc"
)

// ProviderLabel is a provider as people know it.
func ProviderLabel(p string) string {
	switch p {
	case ProviderCAS:
		return "CAS 统一身份认证"
	case ProviderOIDC:
		return "OIDC 统一身份认证"
	}
	return p
}

// Identity is who an identity provider says signed in.
type Identity struct {
	Provider string // ProviderCAS or ProviderOIDC
	Subject  string // the provider's own id (the CAS user, the OIDC sub)
	Login    string // login name, matched against users.login
	PayerNo  string // 学号/工号, matched against users.payer_no
	Name     string
	Phone    string
}

// SSOError is a single sign-on that failed or was refused, with the reason a person reads.
type SSOError struct {
	Reason      string // Simplified Chinese
	Unavailable bool   // the identity provider could not be reached or is misconfigured
	Err         error  // the cause, for the log
}

func (e *SSOError) Error() string {
	if e.Err != nil {
		return "auth: sso: " + e.Err.Error()
	}
	return "auth: sso: " + e.Reason
}

func (e *SSOError) Unwrap() error { return e.Err }

// ErrNoAccount: the identity matches no user, and none may be created.
var ErrNoAccount = errors.New("auth: no account for this identity")

// SSOOptions are the settings that shape matching.
type SSOOptions struct {
	AutoCreate bool // create a payer when nobody matches
}

// SignInSSO returns the user an identity provider's identity belongs to: the user with its
// payer number, else the user with its login name; when there is none and opt allows, a new
// payer (payer number and login = the number, the name and phone given, no password). A
// disabled user is refused with ErrDisabled; nobody, with ErrNoAccount. The sign-in is
// audited as login.sso with the provider.
func (s *Service) SignInSSO(ctx context.Context, id Identity, opt SSOOptions, ip string) (*store.User, error) {
	id.Login, id.PayerNo = strings.TrimSpace(id.Login), strings.TrimSpace(id.PayerNo)
	id.Name, id.Phone = strings.TrimSpace(id.Name), strings.TrimSpace(id.Phone)
	if id.Login == "" && id.PayerNo == "" {
		return nil, &SSOError{Reason: "统一身份认证未提供学号/工号或登录名，无法确定您的账号，请联系财务处", Err: errors.New("auth: sso: identity without login or number")}
	}
	now := s.now()
	actor := clipRunes(id.Provider+":"+firstNonEmpty(id.Subject, id.PayerNo, id.Login), 60)
	u, err := s.matchUser(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		if !opt.AutoCreate {
			store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: actor, Action: "login.sso_unknown", IP: ip,
				Detail: fmt.Sprintf("%s：学号/工号「%s」、登录名「%s」无对应账号", ProviderLabel(id.Provider), clipRunes(id.PayerNo, 64), clipRunes(id.Login, 64))})
			return nil, ErrNoAccount
		}
		u, err = s.createSSOPayer(ctx, id, actor, ip)
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: u.Login, Action: "login.disabled", TargetType: "user", TargetID: u.Login, IP: ip,
			Detail: ProviderLabel(id.Provider)})
		return nil, ErrDisabled
	}
	err = store.Audit(ctx, s.DB, &store.AuditLog{At: now, Actor: u.Login, Action: "login.sso", TargetType: "user", TargetID: u.Login, IP: ip,
		Detail: fmt.Sprintf("%s（%s）", ProviderLabel(id.Provider), clipRunes(firstNonEmpty(id.Subject, id.Login, id.PayerNo), 200))})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// matchUser finds the user by payer number, then by login name; sql.ErrNoRows when none.
func (s *Service) matchUser(ctx context.Context, id Identity) (*store.User, error) {
	for _, by := range []struct{ column, value string }{{"payer_no", id.PayerNo}, {"login", id.Login}} {
		if by.value == "" {
			continue
		}
		u := new(store.User)
		err := s.DB.NewSelect().Model(u).Where("? = ?", bun.Ident(by.column), by.value).Limit(1).Scan(ctx)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("auth: sso: find user: %w", err)
		}
	}
	return nil, sql.ErrNoRows
}

// createSSOPayer adds a payer for an identity nobody matched, with its audit row. Two
// first sign-ins of the same person at once make one user: the loser of the race finds
// the winner's.
func (s *Service) createSSOPayer(ctx context.Context, id Identity, actor, ip string) (*store.User, error) {
	no := firstNonEmpty(id.PayerNo, id.Login)
	if !payerNoRE.MatchString(no) {
		return nil, &SSOError{Reason: fmt.Sprintf("统一身份认证提供的学号/工号「%s」不符合平台要求（4 到 32 位字母或数字），无法自动开通，请联系财务处", clipRunes(no, 40)),
			Err: errors.New("auth: sso: payer number not usable")}
	}
	name := id.Name
	if n := utf8.RuneCountInString(name); n < 1 || n > 50 {
		name = no
	}
	phone := id.Phone
	if !mobileRE.MatchString(phone) {
		phone = ""
	}
	now := s.now()
	u := &store.User{Login: no, Name: name, Roles: store.RolePayer, PayerNo: &no, Phone: phone,
		Status: store.PayerActive, CreatedAt: now, UpdatedAt: now}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			return err
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "user.created", TargetType: "user", TargetID: u.Login, IP: ip,
			Detail: fmt.Sprintf("%s首次登录自动开通；姓名 %s；角色 %s", ProviderLabel(id.Provider), u.Name, u.Roles)})
	})
	if err != nil && store.IsDuplicate(err) {
		if u, err := s.matchUser(ctx, Identity{PayerNo: no, Login: no}); err == nil {
			return u, nil
		}
		return nil, &SSOError{Reason: fmt.Sprintf("学号/工号「%s」已被平台中的另一账号使用，无法自动开通，请联系财务处", no), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: sso: create payer: %w", err)
	}
	return u, nil
}

// ssoKey is the session value that says which identity provider signed the user in.
const ssoKey = "sso"

// SignInVia is SignIn for a user an identity provider vouched for: the session remembers
// the provider (see SignedInVia). It returns the new session's id (for CAS single logout).
// The request's session must not be used after it.
func SignInVia(c *fiber.Ctx, u *store.User, timeout time.Duration, provider string) (string, error) {
	return signIn(c, u, timeout, map[string]string{ssoKey: provider})
}

// SignedInVia is the identity provider that signed in the request's user, or "" for a
// local password.
func SignedInVia(c *fiber.Ctx) string {
	sess := Session(c)
	if sess == nil {
		return ""
	}
	p, _ := sess.Get(ssoKey).(string)
	return p
}

// casTicketLife is how long a ticket's session is remembered for single logout: past the
// longest session the settings allow (1440 minutes).
const casTicketLife = 48 * time.Hour

// RememberCASTicket notes that ticket opened the session sessionKey for login, so that the
// CAS server's single-logout request for the ticket can end it. Tickets of sessions long
// expired are forgotten on the way.
func (s *Service) RememberCASTicket(ctx context.Context, ticket, sessionKey, login string) error {
	now := s.now()
	if _, err := store.PurgeSSOSessions(ctx, s.DB, now.Add(-casTicketLife)); err != nil {
		return err
	}
	return store.PutSSOSession(ctx, s.DB, &store.SSOSession{Ticket: ticket, SessionKey: sessionKey, Login: login, CreatedAt: now})
}

// EndCASSession ends the session ticket opened (the CAS server's single logout) and audits
// it. It reports whether there was one.
func (s *Service) EndCASSession(ctx context.Context, ticket, ip string) (bool, error) {
	row, err := store.EndSSOSession(ctx, s.DB, ticket)
	if err != nil || row == nil {
		return false, err
	}
	err = store.Audit(ctx, s.DB, &store.AuditLog{At: s.now(), Actor: row.Login, Action: "logout.sso", TargetType: "user", TargetID: row.Login, IP: ip,
		Detail: "CAS 统一身份认证单点退出"})
	return true, err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
