package settings_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/settings"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		key, value, want string
		ok               bool
	}{
		{settings.OrderTimeoutMinutes, " 30 ", "30", true},
		{settings.OrderTimeoutMinutes, "0", "", false},
		{settings.OrderTimeoutMinutes, "121", "", false},
		{settings.OrderTimeoutMinutes, "15.5", "", false},
		{settings.ChannelsEnabled, "sandbox, campuscard", "sandbox,campuscard", true},
		{settings.ChannelsEnabled, "sandbox,bitcoin", "", false},
		{settings.SchoolName, "  示例大学 ", "示例大学", true},
		{settings.SchoolName, "   ", "", false},
		{"no.such.key", "x", "", false},
	}
	for _, tt := range tests {
		got, err := settings.Validate(tt.key, tt.value)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Validate(%s, %q) = %q, %v; want %q, ok %v", tt.key, tt.value, got, err, tt.want, tt.ok)
		}
	}
}

func TestStoreSetAndGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		if got := s.Int(ctx, settings.OrderTimeoutMinutes); got != 15 {
			t.Errorf("default timeout = %d, want 15", got)
		}
		old, err := s.Set(ctx, settings.OrderTimeoutMinutes, "20", "finance")
		if err != nil || old != "15" {
			t.Fatalf("Set = %q, %v; want old value 15", old, err)
		}
		if _, err := s.Set(ctx, settings.OrderTimeoutMinutes, "25", "finance"); err != nil {
			t.Fatal(err)
		}
		if got := s.Int(ctx, settings.OrderTimeoutMinutes); got != 25 {
			t.Errorf("timeout after two sets = %d, want 25", got)
		}
		if _, err := s.Set(ctx, settings.OrderTimeoutMinutes, "-1", "finance"); err == nil {
			t.Error("Set(-1) accepted, want a validation error")
		}
		if got := settings.New(db).Get(ctx, settings.OrderTimeoutMinutes); got != "25" {
			t.Errorf("a fresh reader sees %q, want 25 (stored, not only cached)", got)
		}
	})
}

func TestValidateKinds(t *testing.T) {
	tests := []struct {
		name, key, value, want string
		ok                     bool
	}{
		{"int", settings.SessionTimeoutMinutes, "240", "240", true},
		{"int not a number", settings.SessionTimeoutMinutes, "两小时", "", false},
		{"int below range", settings.SessionTimeoutMinutes, "4", "", false},
		{"int above range", settings.SessionTimeoutMinutes, "1441", "", false},
		{"bool", settings.PasswordLettersDigits, "false", "false", true},
		{"bool garbage", settings.PasswordLettersDigits, "maybe", "", false},
		{"list dedup", settings.ChannelsEnabled, "campuscard,campuscard", "campuscard", true},
		{"list unknown channel", settings.ChannelsEnabled, "sandbox,bitcoin", "", false},
		{"list empty", settings.ChannelsEnabled, " , ", "", true}, // no channel yet: a new production database
		{"clock padded", settings.ReconTime, "2:30", "02:30", true},
		{"clock", settings.ReconTime, "23:59", "23:59", true},
		{"clock hour 24", settings.ReconTime, "24:00", "", false},
		{"clock words", settings.ReconTime, "凌晨", "", false},
		{"url", settings.CASURL, "https://cas.example.edu.cn/cas", "https://cas.example.edu.cn/cas", true},
		{"url empty optional", settings.CASURL, "", "", true},
		{"url no scheme", settings.CASURL, "cas.example.edu.cn", "", false},
		{"url javascript", settings.CASURL, "javascript:alert(1)", "", false},
		{"pattern claim", settings.CASAttrName, "display_name", "display_name", true},
		{"pattern claim spaces", settings.CASAttrName, "display name", "", false},
		{"string no newline", settings.SchoolName, "示例\n大学", "", false},
		{"string too long", settings.ReceiptIssuer, strings.Repeat("财", 201), "", false},
	}
	for _, tt := range tests {
		got, err := settings.Validate(tt.key, tt.value)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: Validate(%s, %q) = %q, %v; want %q, ok %v", tt.name, tt.key, tt.value, got, err, tt.want, tt.ok)
		}
	}
}

func TestEveryDefIsValidByDefault(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range settings.Defs {
		if seen[d.Key] {
			t.Errorf("setting %s defined twice", d.Key)
		}
		seen[d.Key] = true
		if d.Label == "" || d.Section == "" {
			t.Errorf("setting %s lacks a label or a section", d.Key)
		}
		if d.Default == "" && d.Optional || d.Kind == settings.Secret {
			continue
		}
		if _, err := settings.Validate(d.Key, d.Default); err != nil {
			t.Errorf("default of %s does not validate: %v", d.Key, err)
		}
	}
}

// allValues is the settings form as it comes back unchanged: every plain setting at its
// default, secrets empty.
func allValues() map[string]string {
	m := map[string]string{}
	for _, d := range settings.Defs {
		if d.Kind != settings.Secret {
			m[d.Key] = d.Default
		}
	}
	return m
}

func TestSaveAuditsChangesAndSealsSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		box := auth.Box{Key: []byte("test-key")}

		// Nothing changed: nothing written.
		changes, err := s.Save(ctx, settings.Form{Values: allValues()}, box, "admin", "10.0.0.9")
		if err != nil || len(changes) != 0 {
			t.Fatalf("Save(defaults) = %v, %v; want no change", changes, err)
		}

		// One bad value among good ones: nothing at all is saved.
		v := allValues()
		v[settings.SchoolName] = "新大学"
		v[settings.OrderTimeoutMinutes] = "abc"
		v[settings.ChannelsEnabled] = "sandbox,bitcoin"
		_, err = s.Save(ctx, settings.Form{Values: v}, box, "admin", "10.0.0.9")
		var errs settings.Errors
		if !errors.As(err, &errs) || errs[settings.OrderTimeoutMinutes] == "" || errs[settings.ChannelsEnabled] == "" || len(errs) != 2 {
			t.Fatalf("Save(bad) = %v; want errors on the timeout and the channels only", err)
		}
		if got := s.Get(ctx, settings.SchoolName); got != "示例大学" {
			t.Errorf("school name after a refused save = %q, want the default", got)
		}

		// Good values: each change audited with old and new value.
		v = allValues()
		v[settings.OrderTimeoutMinutes] = "30"
		v[settings.ReconTime] = "3:05"
		changes, err = s.Save(ctx, settings.Form{Values: v}, box, "admin", "10.0.0.9")
		if err != nil || len(changes) != 2 {
			t.Fatalf("Save = %v, %v; want two changes", changes, err)
		}
		var logs []store.AuditLog
		if err := db.NewSelect().Model(&logs).Where("action = ?", "setting.changed").OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(logs) != 2 || logs[0].TargetID != settings.OrderTimeoutMinutes || !strings.Contains(logs[0].Detail, "「15」→「30」") ||
			logs[0].Actor != "admin" || logs[0].IP != "10.0.0.9" || !strings.Contains(logs[1].Detail, "「02:30」→「03:05」") {
			t.Errorf("audit rows = %+v; want the timeout 15 → 30 and the time 02:30 → 03:05 by admin from 10.0.0.9", logs)
		}
		if got := s.Int(ctx, settings.OrderTimeoutMinutes); got != 30 {
			t.Errorf("timeout = %d, want 30", got)
		}
		if h, m := s.TimeOfDay(ctx, settings.ReconTime); h != 3 || m != 5 {
			t.Errorf("recon time = %d:%d, want 3:05", h, m)
		}

		// A secret is stored sealed and audited without its value.
		const key = "abcdefghijklmnopqrstuvwxyz012345"
		v[settings.CampusCardKey] = key
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		var row store.Setting
		if err := db.NewSelect().Model(&row).Where("k = ?", settings.CampusCardKey).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(row.Value, "v1:") || strings.Contains(row.Value, key) {
			t.Errorf("stored secret = %q, want sealed (v1:…)", row.Value)
		}
		if got, err := s.Secret(ctx, settings.CampusCardKey, box); err != nil || got != key {
			t.Errorf("Secret = %q, %v; want the plain key back", got, err)
		}
		var detail string
		db.NewSelect().Model((*store.AuditLog)(nil)).Column("detail").Where("target_id = ?", settings.CampusCardKey).Scan(ctx, &detail)
		if strings.Contains(detail, key) || !strings.Contains(detail, "已修改") {
			t.Errorf("audit of the secret = %q, want 已修改 without the key", detail)
		}

		// Left empty, the secret stays; the same value again is no change; clearing removes it.
		if changes, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); err != nil || len(changes) != 0 {
			t.Errorf("Save(same secret) = %v, %v; want no change", changes, err)
		}
		delete(v, settings.CampusCardKey)
		if changes, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); err != nil || len(changes) != 0 {
			t.Errorf("Save(secret left empty) = %v, %v; want no change", changes, err)
		}
		if _, err := s.Save(ctx, settings.Form{Values: v, Clear: map[string]bool{settings.CampusCardKey: true}}, box, "admin", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Secret(ctx, settings.CampusCardKey, box); got != "" {
			t.Errorf("secret after clearing = %q, want empty", got)
		}
		if _, err := s.Set(ctx, settings.CampusCardKey, key, "admin"); err == nil {
			t.Error("Set on a secret stored it unsealed, want a refusal")
		}
	})
}

func TestSaveRefusesSwitchesWithoutWhatTheyNeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		s.Simulators = true // the sandbox below is a simulator channel
		box := auth.Box{Key: []byte("test-key")}
		v := allValues()
		v[settings.ChannelsEnabled] = "sandbox,alipay"
		v[settings.CASEnabled] = "true"
		_, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", "")
		var errs settings.Errors
		if !errors.As(err, &errs) || errs[settings.CASURL] == "" {
			t.Fatalf("Save(CAS without its address) = %v; want an error on it", err)
		}
		// Alipay's keys live in a merchant's account (收款商户), not here: enabling it is
		// allowed, and it takes payments only where a merchant's account is switched on.
		if errs[settings.ChannelsEnabled] != "" {
			t.Errorf("enabling alipay refused: %s", errs[settings.ChannelsEnabled])
		}
		v[settings.CASURL] = "https://cas.example.edu.cn/cas"
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); err != nil {
			t.Fatalf("Save(with credentials) = %v", err)
		}
		if got := s.List(ctx, settings.ChannelsEnabled); strings.Join(got, ",") != "sandbox,alipay" {
			t.Errorf("channels = %v, want sandbox,alipay", got)
		}
	})
}

// Without simulators (production), the sandbox cannot be enabled at all and the campus
// card only with its card system's address and key; nothing is saved when refused.
func TestSaveRefusesSimulatorChannelsInProduction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := settings.New(db)
		box := auth.Box{Key: []byte("test-key")}
		if got := s.List(ctx, settings.ChannelsEnabled); len(got) != 0 {
			t.Errorf("channels enabled on a new database = %v, want none", got)
		}
		v := allValues()
		v[settings.ChannelsEnabled] = "sandbox"
		v[settings.SchoolName] = "另一所大学"
		_, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", "")
		var errs settings.Errors
		if !errors.As(err, &errs) || !strings.Contains(errs[settings.ChannelsEnabled], "模拟渠道") {
			t.Fatalf("Save(sandbox without simulators) = %v; want refused as a simulator channel", err)
		}
		if got := s.Get(ctx, settings.SchoolName); got == "另一所大学" {
			t.Error("school name saved although the form was refused")
		}

		v[settings.ChannelsEnabled] = "campuscard"
		errs = nil
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); !errors.As(err, &errs) || !strings.Contains(errs[settings.ChannelsEnabled], "接口地址") {
			t.Fatalf("Save(campus card without its address) = %v; want refused", err)
		}
		v[settings.CampusCardEndpoint] = "https://card.example.edu.cn/api"
		errs = nil
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); !errors.As(err, &errs) || errs[settings.CampusCardEndpoint] == "" {
			t.Fatalf("Save(card address without key) = %v; want refused", err)
		}
		v[settings.CampusCardKey] = "a-key-agreed-with-the-card-system"
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); err != nil {
			t.Fatalf("Save(campus card with address and key) = %v", err)
		}
		if got := s.List(ctx, settings.ChannelsEnabled); strings.Join(got, ",") != "campuscard" {
			t.Errorf("channels = %v, want campuscard", got)
		}

		s.Simulators = true
		v[settings.ChannelsEnabled] = "sandbox,campuscard"
		if _, err := s.Save(ctx, settings.Form{Values: v}, box, "admin", ""); err != nil {
			t.Fatalf("Save(sandbox with simulators on) = %v", err)
		}
	})
}
