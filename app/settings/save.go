package settings

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Form is what the settings page submits.
type Form struct {
	Values map[string]string // key → value as typed; a Secret left empty keeps its value
	Clear  map[string]bool   // Secrets to remove
}

// Change is one setting a Save changed. For a secret Old and New are empty: its values
// are neither shown nor written to the audit log.
type Change struct {
	Key    string
	Label  string
	Old    string
	New    string
	Secret bool
	// Cleared: the secret was removed rather than replaced.
	Cleared bool
}

// Errors holds, by setting key, why a submitted value was refused.
type Errors map[string]string

func (e Errors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("；")
		}
		b.WriteString(e[k])
	}
	return b.String()
}

// Save validates every submitted value and, when all are valid, stores in one transaction
// those that differ from what is stored, sealing secrets with box, and writes one audit row
// per change (old and new value; for a secret only that it changed). When any value is
// wrong it returns Errors and changes nothing.
func (s *Store) Save(ctx context.Context, f Form, box Sealer, actor, ip string) ([]Change, error) {
	current, err := s.stored(ctx)
	if err != nil {
		return nil, err
	}
	errs := Errors{}
	var changes []Change
	next := map[string]string{} // key → value to store
	for _, d := range Defs {
		raw, given := f.Values[d.Key]
		if d.Kind == Secret {
			ch, stored, err := secretChange(d, raw, f.Clear[d.Key], current[d.Key], box)
			if err != nil {
				errs[d.Key] = err.Error()
			} else if ch != nil {
				changes, next[d.Key] = append(changes, *ch), stored
			}
			continue
		}
		if !given {
			continue
		}
		v, err := Validate(d.Key, raw)
		if err != nil {
			errs[d.Key] = err.Error()
			continue
		}
		old, ok := current[d.Key]
		if !ok {
			old = d.Default
		}
		if v != old {
			changes, next[d.Key] = append(changes, Change{Key: d.Key, Label: d.Label, Old: old, New: v}), v
		}
	}
	crossCheck(errs, s.Simulators, func(key string) string {
		if v, ok := next[key]; ok {
			return v
		}
		if v, ok := current[key]; ok {
			return v
		}
		d, _ := def(key)
		return d.Default
	})
	if len(errs) > 0 {
		return nil, errs
	}
	if len(changes) == 0 {
		return nil, nil
	}
	now := store.UTC(time.Now())
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, ch := range changes {
			if err := store.PutSetting(ctx, tx, &store.Setting{Key: ch.Key, Value: next[ch.Key], UpdatedBy: actor, UpdatedAt: now}); err != nil {
				return err
			}
			row := &store.AuditLog{At: now, Actor: actor, Action: "setting.changed", TargetType: "setting", TargetID: ch.Key, IP: ip, Detail: ch.detail()}
			if err := store.Audit(ctx, tx, row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settings: save: %w", err)
	}
	s.forget()
	return changes, nil
}

// secretChange works out what submitting raw (or clearing) does to a secret stored sealed:
// nil when nothing changes, otherwise the change and the new sealed value.
func secretChange(d Def, raw string, clear bool, sealed string, box Sealer) (*Change, string, error) {
	if clear {
		if sealed == "" {
			return nil, "", nil
		}
		return &Change{Key: d.Key, Label: d.Label, Secret: true, Cleared: true}, "", nil
	}
	if strings.TrimSpace(raw) == "" {
		return nil, "", nil // left empty: keep
	}
	plain, err := Validate(d.Key, raw)
	if err != nil {
		return nil, "", err
	}
	if sealed != "" {
		if old, err := box.Open(sealed); err == nil && old == plain {
			return nil, "", nil
		}
	}
	v, err := box.Seal(plain)
	if err != nil {
		return nil, "", fmt.Errorf("settings: seal %s: %w", d.Key, err)
	}
	return &Change{Key: d.Key, Label: d.Label, Secret: true}, v, nil
}

// crossCheck refuses switches turned on without what they need: a real payment channel
// without its credentials (the campus card, without simulators, its card system's
// address), a simulator channel without simulators, single sign-on without its server's
// address. A field that already has an error keeps that one.
func crossCheck(errs Errors, simulators bool, value func(key string) string) {
	enabled := strings.Split(value(ChannelsEnabled), ",")
	need := func(on bool, at, what string, keys ...string) {
		if _, taken := errs[at]; !on || taken {
			return
		}
		for _, k := range keys {
			if value(k) == "" {
				errs[at] = what
				return
			}
		}
	}
	if !simulators {
		for _, ch := range SimulatorChannels {
			if _, taken := errs[ChannelsEnabled]; !taken && contains(enabled, ch) {
				d, _ := def(ChannelsEnabled)
				errs[ChannelsEnabled] = "「" + d.ChoiceName(ch) + "」是模拟渠道，不产生真实收款，只能在演示模式（或以 -simulators 启动）下启用；请取消勾选"
			}
		}
		need(contains(enabled, "campuscard"), ChannelsEnabled, "启用校园卡须先填写一卡通的接口地址和接口密钥",
			CampusCardEndpoint, CampusCardKey)
	}
	need(value(CampusCardEndpoint) != "", CampusCardEndpoint, "填写一卡通接口地址须同时填写接口密钥", CampusCardKey)
	need(value(CASEnabled) == "true", CASURL, "启用 CAS 单点登录须填写 CAS 服务地址", CASURL)
	need(value(OIDCEnabled) == "true", OIDCIssuer, "启用 OIDC 单点登录须填写 Issuer 地址和 Client ID", OIDCIssuer, OIDCClientID)
}

// detail is the change as the audit log keeps it.
func (c Change) detail() string {
	switch {
	case c.Cleared:
		return c.Label + "：已清除（密钥内容不记录）"
	case c.Secret:
		return c.Label + "：已修改（密钥内容不记录）"
	}
	return fmt.Sprintf("%s：「%s」→「%s」", c.Label, clip(c.Old), clip(c.New))
}

func clip(s string) string {
	r := []rune(s)
	if len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

// stored reads the settings table as it is now, past the cache.
func (s *Store) stored(ctx context.Context) (map[string]string, error) {
	var rows []store.Setting
	if err := s.DB.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, fmt.Errorf("settings: read: %w", err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.Key] = r.Value
	}
	return m, nil
}
