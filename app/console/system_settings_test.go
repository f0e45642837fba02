package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

func TestSettingsPageValidatesSavesAndAudits(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := sysBrowser(t, p, "finance", "finance123456")
		code, page := b.Get("/console/settings")
		for _, want := range []string{"<html", "系统参数", "基本信息", "支付宝", "微信支付", "账号安全", "统一身份认证", "每日对账时间", "留空则不修改"} {
			if code != http.StatusOK || !strings.Contains(page, want) {
				t.Fatalf("settings page: status %d, lacks %q", code, want)
			}
		}

		// Bad values: the page comes back with the messages beside the fields; nothing saved.
		form := sysSettingsForm()
		form.Set(settings.OrderTimeoutMinutes, "abc")
		form.Set(settings.SessionTimeoutMinutes, "2000")
		form.Set(settings.SchoolName, "改名大学")
		form.Add(settings.ChannelsEnabled, "bitcoin")
		code, page, _ = b.Post("/console/settings", form)
		for _, want := range []string{"订单超时（分钟） 须为整数", "须在 5 到 1440 之间", "不认识「bitcoin」", "未保存任何修改"} {
			if code != http.StatusUnprocessableEntity || !strings.Contains(page, want) {
				t.Errorf("bad settings: status %d, lacks %q", code, want)
			}
		}
		if got := p.Settings.Get(ctx, settings.SchoolName); got == "改名大学" {
			t.Errorf("school name saved although the form had errors")
		}

		// A good change through the HTMX form: the fragment says what was saved.
		form = sysSettingsForm()
		form.Set(settings.OrderTimeoutMinutes, "30")
		form.Set(settings.ReceiptIssuer, "<script>alert(1)</script>财务处")
		_, frag, _ := b.Do("POST", "/console/settings", form, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, "已保存 2 项修改") || !strings.Contains(frag, "&lt;script&gt;alert(1)&lt;/script&gt;财务处") {
			t.Errorf("saved fragment lacks the note or the escaped issuer:\n%.2000s", frag)
		}
		if strings.Contains(frag, "<script>alert(1)") {
			t.Errorf("issuer came back unescaped")
		}
		var logs []store.AuditLog
		p.DB.NewSelect().Model(&logs).Where("action = ? AND target_id = ?", "setting.changed", settings.OrderTimeoutMinutes).Scan(ctx)
		if len(logs) != 1 || !strings.Contains(logs[0].Detail, "「15」→「30」") || logs[0].Actor != "finance" || logs[0].IP == "" {
			t.Errorf("audit of the timeout = %+v; want one row 15 → 30 by finance with an address", logs)
		}

		// A secret: stored sealed, shown back only masked, audited without its value.
		const key = "Zq7Kp2mX9vB4nR8tY3wL6cF1hJ5dG0sA"
		form = sysSettingsForm()
		form.Set(settings.OrderTimeoutMinutes, "30")
		form.Set(settings.ReceiptIssuer, "<script>alert(1)</script>财务处")
		form.Set(settings.CampusCardKey, key)
		if code, body, _ := b.Post("/console/settings", form); code != http.StatusSeeOther {
			t.Fatalf("save secret: status %d\n%.1000s", code, body)
		}
		var row store.Setting
		p.DB.NewSelect().Model(&row).Where("k = ?", settings.CampusCardKey).Scan(ctx)
		if !strings.HasPrefix(row.Value, "v1:") || strings.Contains(row.Value, key) {
			t.Errorf("stored card key = %q, want sealed text starting v1:", row.Value)
		}
		_, page = b.Get("/console/settings?saved=1")
		if strings.Contains(page, key) || strings.Contains(page, key[:12]) || !strings.Contains(page, "••••••••"+key[len(key)-4:]) {
			t.Errorf("settings page shows the secret, or not its mask")
		}
		if !strings.Contains(page, "参数已保存") {
			t.Errorf("no note after saving")
		}
		var detail string
		p.DB.NewSelect().Model((*store.AuditLog)(nil)).Column("detail").Where("target_id = ?", settings.CampusCardKey).Scan(ctx, &detail)
		if strings.Contains(detail, key) || !strings.Contains(detail, "已修改") {
			t.Errorf("audit of the secret = %q, want 已修改 without the value", detail)
		}

		// Administrators reach the page too; leadership does not.
		if code, _ := sysBrowser(t, p, "admin", "admin123456").Get("/console/settings"); code != http.StatusOK {
			t.Errorf("admin: status %d, want 200", code)
		}
		if code, _ := sysBrowser(t, p, "leader", "leader123456").Get("/console/settings"); code != http.StatusForbidden {
			t.Errorf("leader: status %d, want 403", code)
		}
	})
}
