package clients

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/egress"
	"campuspay/app/fault"
	"campuspay/store"
)

// ClientInput is what finance enters for a business system.
type ClientInput struct {
	AppID        string
	Name         string
	AllowedItems []string // charge item codes
	CallbackURL  string
	Roster       bool
	LegacyMD5    bool
}

var appIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,63}$`)

func (s *Service) validateClient(ctx context.Context, in *ClientInput) error {
	in.AppID, in.Name, in.CallbackURL = strings.TrimSpace(in.AppID), strings.TrimSpace(in.Name), strings.TrimSpace(in.CallbackURL)
	if !appIDRE.MatchString(in.AppID) {
		return fault.New(fault.ErrInvalid, "app_id_invalid", "应用编号须为 3–64 位小写字母、数字或连字符，以字母或数字开头")
	}
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 100 {
		return fault.New(fault.ErrInvalid, "name_invalid", "请填写 2–100 字的系统名称")
	}
	if in.CallbackURL != "" {
		u, err := url.Parse(in.CallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.CallbackURL) > 500 {
			return fault.New(fault.ErrInvalid, "callback_invalid", "回调地址须为 http 或 https 的完整地址")
		}
		var refused *egress.Refused
		if err := s.Egress.CheckURL(ctx, in.CallbackURL); errors.As(err, &refused) {
			return fault.New(fault.ErrInvalid, "callback_invalid", "回调地址指向内网（%s），平台默认不向内网地址发送回调；该系统确在校园内网时，请管理员先在 系统参数 › 对外连接与回调 中允许该地址", refused.Reason())
		} else if err != nil {
			return fault.New(fault.ErrInvalid, "callback_invalid", "回调地址须为 http 或 https 的完整地址")
		}
	}
	var codes []string
	for _, code := range in.AllowedItems {
		if code = strings.TrimSpace(code); code != "" && !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	if len(codes) > 0 {
		n, err := s.DB.NewSelect().Model((*store.ChargeItem)(nil)).Where("code IN (?)", bun.In(codes)).Count(ctx)
		if err != nil {
			return fmt.Errorf("clients: client items: %w", err)
		}
		if int(n) != len(codes) {
			return fault.New(fault.ErrInvalid, "item_unknown", "允许的收费项目中有不存在的项目编码")
		}
	}
	in.AllowedItems = codes
	return nil
}

// NewClientSecret makes a client secret: 32 random bytes as 64 hex characters.
func NewClientSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("clients: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// CreateClient registers a business system and returns it with its secret in plain — the
// only time the secret is ever shown.
func (s *Service) CreateClient(ctx context.Context, in ClientInput, actor string) (*store.Client, string, error) {
	if err := s.validateClient(ctx, &in); err != nil {
		return nil, "", err
	}
	return s.createClient(ctx, in, NewClientSecret(), actor)
}

// createClient is CreateClient with a given secret (the demo client's is documented).
func (s *Service) createClient(ctx context.Context, in ClientInput, secret, actor string) (*store.Client, string, error) {
	sealed, err := s.Secrets.Seal(secret)
	if err != nil {
		return nil, "", fmt.Errorf("clients: seal client secret: %w", err)
	}
	now := s.now()
	c := &store.Client{AppID: in.AppID, Name: in.Name, SecretSealed: sealed, AllowedItems: strings.Join(in.AllowedItems, ","),
		CallbackURL: in.CallbackURL, Roster: in.Roster, LegacyMD5: in.LegacyMD5, SecretSetAt: now, CreatedAt: now, UpdatedAt: now}
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return fault.New(fault.ErrConflict, "app_id_taken", "应用编号 %s 已被使用", in.AppID)
			}
			return fmt.Errorf("clients: create client: %w", err)
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "client.created", TargetType: "client", TargetID: c.AppID,
			Detail: fmt.Sprintf("items=%s callback=%s roster=%v md5=%v", c.AllowedItems, c.CallbackURL, c.Roster, c.LegacyMD5)})
	})
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// EnsureDemoClient registers the demo business system with its documented secret unless
// it exists: for demo data only.
func (s *Service) EnsureDemoClient(ctx context.Context, in ClientInput, secret string) error {
	if _, err := s.Client(ctx, in.AppID); err == nil {
		return nil
	}
	_, _, err := s.createClient(ctx, in, secret, "demo")
	return err
}

// UpdateClient changes what a client may do (not its secret).
func (s *Service) UpdateClient(ctx context.Context, in ClientInput, actor string) (*store.Client, error) {
	if err := s.validateClient(ctx, &in); err != nil {
		return nil, err
	}
	now := s.now()
	err := store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.Client)(nil)).
			Set("name = ?", in.Name).Set("allowed_items = ?", strings.Join(in.AllowedItems, ",")).
			Set("callback_url = ?", in.CallbackURL).Set("roster = ?", in.Roster).Set("legacy_md5 = ?", in.LegacyMD5).
			Set("updated_at = ?", now).Where("app_id = ?", in.AppID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clients: update client: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrNotFound, "not_found", "接入系统不存在")
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "client.updated", TargetType: "client", TargetID: in.AppID,
			Detail: fmt.Sprintf("items=%s callback=%s roster=%v md5=%v", strings.Join(in.AllowedItems, ","), in.CallbackURL, in.Roster, in.LegacyMD5)})
	})
	if err != nil {
		return nil, err
	}
	return s.Client(ctx, in.AppID)
}

// RotateClientSecret gives a client a new secret, returned in plain once; the old one
// stops working at once.
func (s *Service) RotateClientSecret(ctx context.Context, appID, actor string) (string, error) {
	secret := NewClientSecret()
	sealed, err := s.Secrets.Seal(secret)
	if err != nil {
		return "", fmt.Errorf("clients: seal client secret: %w", err)
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.Client)(nil)).Set("secret_sealed = ?", sealed).
			Set("secret_set_at = ?", now).Set("updated_at = ?", now).Where("app_id = ?", appID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clients: rotate client secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrNotFound, "not_found", "接入系统不存在")
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "client.secret_rotated", TargetType: "client", TargetID: appID})
	})
	return secret, err
}

// SetClientDisabled turns a client off (its requests are refused) or on again.
func (s *Service) SetClientDisabled(ctx context.Context, appID string, disabled bool, actor string) error {
	now := s.now()
	return store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*store.Client)(nil)).Set("disabled = ?", disabled).Set("updated_at = ?", now).
			Where("app_id = ?", appID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clients: disable client: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fault.New(fault.ErrNotFound, "not_found", "接入系统不存在")
		}
		action := "client.enabled"
		if disabled {
			action = "client.disabled"
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: action, TargetType: "client", TargetID: appID})
	})
}

// Client returns a client by app id.
func (s *Service) Client(ctx context.Context, appID string) (*store.Client, error) {
	c := new(store.Client)
	if err := s.DB.NewSelect().Model(c).Where("app_id = ?", appID).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "接入系统不存在")
	}
	return c, nil
}

// ClientSecret opens a client's sealed secret.
func (s *Service) ClientSecret(c *store.Client) (string, error) {
	secret, err := s.Secrets.Open(c.SecretSealed)
	if err != nil {
		return "", fmt.Errorf("clients: open secret of %s: %w", c.AppID, err)
	}
	return secret, nil
}

// Clients lists every client by name.
func (s *Service) Clients(ctx context.Context) ([]*store.Client, error) {
	var cs []*store.Client
	err := s.DB.NewSelect().Model(&cs).OrderExpr("name").Scan(ctx)
	return cs, err
}
