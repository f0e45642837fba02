// Package merchants keeps the 收款商户: the school's merchant and those of departments or
// sub-merchants, each with one account per payment company whose keys and certificates
// are sealed at rest. It opens a channel.Provider for an account (cached until the account
// changes), validates an account's settings through its driver before saving them, and
// records the last error a company gave, for finance to read on the merchant's page.
package merchants

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/settings"
	"campuspay/store"
)

// Service is the merchant registry.
type Service struct {
	DB      *bun.DB
	Sealer  settings.Sealer
	Drivers map[string]channel.Driver
	// Client is the HTTP client a provider reaches its company with; demo accounts (which
	// point at the in-process fakes) use DemoClient.
	Client     *http.Client
	DemoClient *http.Client
	Now        func() time.Time
	Log        *slog.Logger
	// AccountTTL is how long an account read from the database is used before it is read
	// again (0: DefaultAccountTTL); a change made through this Service is seen at once.
	// See cache.go.
	AccountTTL time.Duration

	mu       sync.Mutex
	opened   map[int64]opened // by account id
	accounts map[accountKey]*accountEntry
	gen      uint64 // counts forget calls
}

type opened struct {
	stamp    string // the account's values and updated_at when it was opened
	provider channel.Provider
	err      error     // the driver's refusal, when provider is nil
	at       time.Time // when it was opened or refused
}

// stamp changes whenever the account's settings do, even twice within a clock tick.
func stamp(a *store.MerchantAccount) string {
	return a.UpdatedAt.UTC().Format(time.RFC3339Nano) + "\x00" + a.PlainValues + "\x00" + a.SealedValues
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// Driver returns the named driver, or nil.
func (s *Service) Driver(name string) channel.Driver {
	if s == nil {
		return nil
	}
	return s.Drivers[name]
}

// DriverNames lists the drivers in a stable order.
func (s *Service) DriverNames() []string {
	if s == nil {
		return nil
	}
	var out []string
	for name := range s.Drivers {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Account returns a merchant's account at a channel (a copy the caller may keep). It is
// served from the account cache: at most AccountTTL old, and never older than a change
// made through this Service (cache.go).
func (s *Service) Account(ctx context.Context, merchantID int64, channelName string) (*store.MerchantAccount, error) {
	e, err := s.entry(ctx, merchantID, channelName)
	if err != nil {
		return nil, err
	}
	if e.acc == nil {
		return nil, notFound()
	}
	return copyAccount(e.acc), nil
}

// Values are an account's field values, the secret ones unsealed.
func (s *Service) Values(a *store.MerchantAccount) (map[string]string, error) {
	values := map[string]string{}
	if a.PlainValues != "" {
		if err := json.Unmarshal([]byte(a.PlainValues), &values); err != nil {
			return nil, fmt.Errorf("merchants: account %d values: %w", a.ID, err)
		}
	}
	if a.SealedValues != "" {
		plain, err := s.Sealer.Open(a.SealedValues)
		if err != nil {
			return nil, fmt.Errorf("merchants: account %d secrets: %w", a.ID, err)
		}
		secrets := map[string]string{}
		if err := json.Unmarshal([]byte(plain), &secrets); err != nil {
			return nil, fmt.Errorf("merchants: account %d secrets: %w", a.ID, err)
		}
		for k, v := range secrets {
			values[k] = v
		}
	}
	return values, nil
}

// Provider opens (or returns the open) provider of a merchant's account at a channel. An
// account whose settings no longer open (an expired certificate) gives the driver's error,
// which is also recorded as the account's last error (once a minute at most while the
// settings stay the same).
func (s *Service) Provider(ctx context.Context, merchantID int64, channelName string) (channel.Provider, *store.MerchantAccount, error) {
	d := s.Driver(channelName)
	if d == nil {
		return nil, nil, fault.New(fault.ErrInvalid, "channel_invalid", "不支持的支付方式：%s", channelName)
	}
	e, err := s.entry(ctx, merchantID, channelName)
	if err != nil {
		return nil, nil, err
	}
	if e.acc == nil {
		return nil, nil, notFound()
	}
	a := e.acc
	s.mu.Lock()
	p := e.provider
	o, ok := s.opened[a.ID]
	s.mu.Unlock()
	if p != nil {
		return p, copyAccount(a), nil
	}
	st := stamp(a)
	if ok && o.stamp == st {
		if o.provider != nil {
			s.keep(e, o.provider)
			return o.provider, copyAccount(a), nil
		}
		if time.Since(o.at) < openFailure {
			return nil, copyAccount(a), o.err
		}
	}
	values, err := s.Values(a)
	if err != nil {
		return nil, copyAccount(a), err
	}
	p, openErr := d.Open(s.config(a, values))
	if openErr != nil {
		err := fmt.Errorf("merchants: open %s account of merchant %d: %w", channelName, merchantID, openErr)
		s.mu.Lock()
		if s.opened == nil {
			s.opened = map[int64]opened{}
		}
		s.opened[a.ID] = opened{stamp: st, err: err, at: time.Now()}
		s.mu.Unlock()
		s.RecordError(ctx, a.ID, "密钥或证书无法使用："+openErr.Error())
		return nil, copyAccount(a), err
	}
	s.mu.Lock()
	if s.opened == nil {
		s.opened = map[int64]opened{}
	}
	s.opened[a.ID] = opened{stamp: st, provider: p, at: time.Now()}
	s.mu.Unlock()
	s.keep(e, p)
	return p, copyAccount(a), nil
}

// keep remembers p as the provider of the cached entry it was opened from.
func (s *Service) keep(e *accountEntry, p channel.Provider) {
	s.mu.Lock()
	e.provider = p
	s.mu.Unlock()
}

func (s *Service) config(a *store.MerchantAccount, values map[string]string) channel.MerchantConfig {
	client := s.Client
	if a.Demo && s.DemoClient != nil {
		client = s.DemoClient
	}
	return channel.MerchantConfig{MerchantID: a.MerchantID, Values: values, HTTPClient: client, Now: s.Now}
}

// RecordError keeps the last error a company gave for an account (the merchant page shows
// it). It never fails the caller: a failure to record is logged.
func (s *Service) RecordError(ctx context.Context, accountID int64, message string) {
	now := s.now()
	if _, err := s.DB.NewUpdate().Model((*store.MerchantAccount)(nil)).
		Set("last_error = ?", store.Clip(message, 500)).Set("last_error_at = ?", now).
		Where("id = ?", accountID).Exec(ctx); err != nil {
		s.log().Error("merchants: record error", "account", accountID, "err", err)
	}
	s.forget(0, accountID)
}

// Live reports whether a merchant's account at a channel takes new payments: it exists,
// is enabled, and its settings open.
func (s *Service) Live(ctx context.Context, merchantID int64, channelName string) bool {
	if s.Driver(channelName) == nil {
		return false
	}
	e, err := s.entry(ctx, merchantID, channelName)
	if err != nil || e.acc == nil || !e.acc.Enabled {
		return false
	}
	_, _, err = s.Provider(ctx, merchantID, channelName)
	return err == nil
}

// Save validates and stores a merchant's account at a channel. values holds the fields
// the form sent; a secret field left empty keeps its sealed value. The whole set is
// opened through the driver first: a key that does not parse, a private key that does
// not match its certificate, a certificate that does not chain — nothing is saved and the
// driver's words say which field is at fault.
func (s *Service) Save(ctx context.Context, merchantID int64, channelName string, values map[string]string, enabled, demo bool, actor string) (*store.MerchantAccount, error) {
	d := s.Driver(channelName)
	if d == nil {
		return nil, fault.New(fault.ErrInvalid, "channel_invalid", "不支持的支付方式：%s", channelName)
	}
	m := new(store.Merchant)
	if err := s.DB.NewSelect().Model(m).Where("id = ?", merchantID).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收款商户不存在")
	}
	// Whatever happens, the next order reads the account again. The old values come from
	// the database, not the cache: the secrets a form left empty must be the latest.
	defer s.forget(merchantID, 0)
	old, err := s.readAccount(ctx, merchantID, channelName)
	var oldValues map[string]string
	if err == nil {
		if oldValues, err = s.Values(old); err != nil {
			return nil, err
		}
	} else if errors.Is(err, sql.ErrNoRows) {
		old = nil
	} else {
		return nil, err
	}
	plain, secret := map[string]string{}, map[string]string{}
	all := map[string]string{}
	for _, f := range d.Fields() {
		v, ok := values[f.Key]
		if f.Secret && v == "" {
			v, ok = oldValues[f.Key], oldValues[f.Key] != ""
		}
		if !ok || v == "" {
			continue
		}
		if len(v) > 64<<10 {
			return nil, fault.New(fault.ErrInvalid, "field_too_long", "「%s」过长", f.Label)
		}
		all[f.Key] = v
		if f.Secret {
			secret[f.Key] = v
		} else {
			plain[f.Key] = v
		}
	}
	a := &store.MerchantAccount{MerchantID: merchantID, Channel: channelName, Enabled: enabled, Demo: demo, UpdatedBy: actor}
	if _, err := d.Open(s.config(a, all)); err != nil {
		return nil, fault.New(fault.ErrInvalid, "merchant_keys_invalid", "%v", err)
	}
	pj, _ := json.Marshal(plain)
	sj, _ := json.Marshal(secret)
	sealed, err := s.Sealer.Seal(string(sj))
	if err != nil {
		return nil, fmt.Errorf("merchants: seal: %w", err)
	}
	now := s.now()
	a.PlainValues, a.SealedValues, a.CreatedAt, a.UpdatedAt = string(pj), sealed, now, now
	err = store.InTx(ctx, s.DB, func(ctx context.Context, tx bun.Tx) error {
		if old != nil {
			a.ID, a.CreatedAt = old.ID, old.CreatedAt
			_, err := tx.NewUpdate().Model(a).
				Column("enabled", "demo", "plain_values", "sealed_values", "updated_by", "updated_at").
				Set("last_error = ''").Set("last_error_at = NULL").WherePK().Exec(ctx)
			if err != nil {
				return fmt.Errorf("merchants: update account: %w", err)
			}
		} else if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return fmt.Errorf("merchants: insert account: %w", err)
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: now, Actor: actor, Action: "merchant.account.saved",
			TargetType: "merchant", TargetID: fmt.Sprint(merchantID), Detail: fmt.Sprintf("channel=%s enabled=%v", channelName, enabled)})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Merchants lists the merchants with their accounts.
func (s *Service) Merchants(ctx context.Context) ([]*store.Merchant, error) {
	var out []*store.Merchant
	err := s.DB.NewSelect().Model(&out).Relation("Accounts").OrderExpr("merchant.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("merchants: list: %w", err)
	}
	return out, nil
}

// Merchant returns one merchant with its accounts.
func (s *Service) Merchant(ctx context.Context, id int64) (*store.Merchant, error) {
	m := new(store.Merchant)
	if err := s.DB.NewSelect().Model(m).Relation("Accounts").Where("merchant.id = ?", id).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "收款商户不存在")
	}
	return m, nil
}
