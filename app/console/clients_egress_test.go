package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"campuspay/app/clients"
	"campuspay/app/egress"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

// clAllow puts the address of rawURL (a test receiver on loopback) on the allow-list of
// internal addresses the platform may call.
func clAllow(t *testing.T, p *servertest.Platform, rawURL string) {
	t.Helper()
	if _, err := p.Settings.Set(context.Background(), settings.EgressAllow, egress.HostPortOf(rawURL), "admin"); err != nil {
		t.Fatal(err)
	}
}

// TestClientCallbackURLMustNotBeInternal: finance cannot save a callback URL naming an
// internal address until the allow-list (系统参数, checked on save) names it.
func TestClientCallbackURLMustNotBeInternal(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		fin := clSignIn(t, p, "finance", "finance123456")
		fin.Get("/console/clients/new")
		for _, cb := range []string{"http://127.0.0.2/cb", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/cb", "http://localhost:6379/"} {
			code, page, _ := fin.Post("/console/clients", url.Values{"app_id": {"cl-inner"}, "name": {"内网系统"}, "callback_url": {cb}})
			if code != http.StatusUnprocessableEntity || !strings.Contains(page, "回调地址指向内网") || !strings.Contains(page, "系统参数") {
				t.Errorf("callback %s: status %d, want 422 saying it is internal and where to allow it", cb, code)
			}
		}
		if _, err := p.Clients.Client(context.Background(), "cl-inner"); err == nil {
			t.Fatalf("a client with an internal callback URL was saved")
		}

		// The allow-list is checked when saved.
		sys := sysBrowser(t, p, "admin", "admin123456")
		form := sysSettingsForm()
		form.Set(settings.EgressAllow, "0.0.0.0/0")
		if code, page, _ := sys.Post("/console/settings", form); code != http.StatusUnprocessableEntity || !strings.Contains(page, "范围过大") {
			t.Errorf("allow-list 0.0.0.0/0: status %d, want 422 saying it is too wide", code)
		}
		form.Set(settings.EgressAllow, "127.0.0.2，10.20.0.0/16")
		if code, _, _ := sys.Post("/console/settings", form); code != http.StatusSeeOther {
			t.Fatalf("allow-list save: status %d, want 303", code)
		}
		if got := p.Settings.Get(context.Background(), settings.EgressAllow); got != "127.0.0.2\n10.20.0.0/16" {
			t.Errorf("allow-list stored as %q, want one entry a line", got)
		}
		fin.Get("/console/clients/new")
		if code, page, _ := fin.Post("/console/clients", url.Values{"app_id": {"cl-inner"}, "name": {"内网系统"}, "callback_url": {"http://127.0.0.2/cb"}}); code != http.StatusOK {
			t.Errorf("allowed internal callback: status %d\n%.1500s", code, page)
		}
	})
}

// TestDeliveriesExcerptRedirectAndResendAll: the deliveries page shows a short, escaped
// excerpt of a receiver's answer and a redirect as a failure; finance resends everything
// undelivered at once (CSRF-checked, audited).
func TestDeliveriesExcerptRedirectAndResendAll(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		var redirect atomic.Bool
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if redirect.Load() { // to the platform's own health check
				http.Redirect(w, r, p.URL+"/healthz", http.StatusFound)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`<img src=x onerror="alert(1)">` + strings.Repeat("上游故障 ", 100) + "END-OF-BODY"))
		}))
		defer recv.Close()
		clAllow(t, p, recv.URL)
		cl, _, err := p.Clients.CreateClient(ctx, clients.ClientInput{AppID: "cl-ex", Name: "报名系统",
			AllowedItems: []string{"CET-2026-12"}, CallbackURL: recv.URL + "/cb"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		clPaidBillOf(t, p, "cl-ex")
		if _, _, err := p.Clients.DeliverEvents(ctx, 50); err != nil {
			t.Fatal(err)
		}
		path := "/console/clients/" + strconv.FormatInt(cl.ID, 10) + "/deliveries"
		fin := clSignIn(t, p, "finance", "finance123456")
		_, page := fin.Get(path)
		if !strings.Contains(page, "HTTP 502") || !strings.Contains(page, "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;上游故障") ||
			strings.Contains(page, "<img src=x") || strings.Contains(page, "END-OF-BODY") || !strings.Contains(page, "…") {
			t.Errorf("deliveries page: want the answer's start escaped and cut short\n%.4000s", page)
		}

		// A redirect, even to the platform itself, is a failed attempt, shown as such.
		redirect.Store(true)
		if _, err := p.DB.NewUpdate().Model((*store.Event)(nil)).Set("next_at = ?", store.UTC(time.Now().Add(-time.Second))).Where("client = 'cl-ex'").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if d, _, err := p.Clients.DeliverEvents(ctx, 50); err != nil || d != 0 {
			t.Fatalf("DeliverEvents = %d, %v; want the redirect not delivered", d, err)
		}
		_, page = fin.Get(path)
		if !strings.Contains(page, "HTTP 302") || !strings.Contains(page, "平台不跟随重定向") {
			t.Errorf("deliveries page does not show the redirect as the reason")
		}

		// The callback waits for its next retry: resend all takes it now.
		if !strings.Contains(page, "重发全部未送达（1 条）") || !strings.Contains(page, "等待重试 1 条") {
			t.Errorf("deliveries page offers no resend of the pending callback")
		}
		bad := url.Values{"_csrf": {"forged"}}
		if code, _, _ := fin.Post(path+"/resend", bad); code != http.StatusForbidden {
			t.Errorf("resend all with a wrong CSRF token: status %d, want 403", code)
		}
		if ev := clEvent(t, p, "cl-ex"); ev.Attempts != 2 {
			t.Fatalf("the forged resend changed the event: %d attempts", ev.Attempts)
		}
		if code, _, resp := fin.Post(path+"/resend", nil); code != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=resent") {
			t.Fatalf("resend all: status %d", code)
		}
		if ev := clEvent(t, p, "cl-ex"); ev.Status != clients.EventPending || ev.Attempts != 0 {
			t.Errorf("after resend all: %s after %d attempts, want pending from 0", ev.Status, ev.Attempts)
		}
		var audit store.AuditLog
		if err := p.DB.NewSelect().Model(&audit).Where("action = 'callback.resent' AND target_id = 'cl-ex'").Scan(ctx); err != nil || audit.Actor == "" {
			t.Errorf("resend all not audited: %+v, %v", audit, err)
		}
	})
}
