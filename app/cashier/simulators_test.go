package cashier_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/auth"
	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
	"campuspay/store"
)

const demoBanner = "演示模式：模拟支付，不产生真实收款"

// realChannel stands in for a real payment company (here "alipay"): it sends the payer
// to its own site and answers queries with what the test decided.
type realChannel struct {
	mu      sync.Mutex
	created []string
	paid    map[string]int64
}

const realOrigin = "https://openapi.pay.example"

func (r *realChannel) Name() string { return "alipay" }
func (r *realChannel) Create(_ context.Context, req channel.CreateRequest) (channel.CreateResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.created = append(r.created, req.OrderNo)
	return channel.CreateResult{RedirectURL: realOrigin + "/pay?order=" + req.OrderNo}, nil
}
func (r *realChannel) VerifyNotification(http.Header, []byte) (channel.Trade, error) {
	return channel.Trade{}, channel.ErrBadSignature
}
func (r *realChannel) NotificationAck() (string, []byte) { return "text/plain", []byte("success") }
func (r *realChannel) Query(_ context.Context, orderNo string) (channel.Trade, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if amount, ok := r.paid[orderNo]; ok {
		return channel.Trade{OrderNo: orderNo, TradeNo: "R" + orderNo, AmountFen: amount, Status: channel.TradeSuccess, PaidAt: time.Now()}, nil
	}
	return channel.Trade{OrderNo: orderNo, Status: channel.TradeWaiting}, nil
}
func (r *realChannel) Close(context.Context, string) error { return nil }
func (r *realChannel) Refund(context.Context, channel.RefundRequest) (channel.RefundResult, error) {
	return channel.RefundResult{}, channel.ErrUnavailable
}
func (r *realChannel) QueryRefund(context.Context, string, string) (channel.RefundResult, error) {
	return channel.RefundResult{}, channel.ErrUnavailable
}
func (r *realChannel) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return nil, channel.ErrUnavailable
}
func (r *realChannel) FormOrigins() []string { return []string{realOrigin + "/gateway.do"} }

// openItems writes, on a database without the demo, an approved fixed-price item open to
// off-campus payers and a per-bill item with one off-campus payer's bill, and returns the
// open item's code and the bill.
func openItems(t *testing.T, p *servertest.Platform) (string, *store.Bill) {
	t.Helper()
	ctx := context.Background()
	now := store.UTC(time.Now())
	dept := &store.Department{Code: "ZSB", Name: "招生办公室", CreatedAt: now}
	if _, err := p.DB.NewInsert().Model(dept).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	open := &store.ChargeItem{Code: "CONF-2026", Name: "学术会议注册费", DepartmentID: dept.ID, Category: "conference",
		Audience: store.AudienceBoth, Pricing: store.PricingFixed, PriceFen: 80000, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	perBill := &store.ChargeItem{Code: "ADM-2026", Name: "报名费", DepartmentID: dept.ID, Category: "exam",
		Audience: store.AudienceBoth, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	for _, it := range []*store.ChargeItem{open, perBill} {
		if _, err := p.DB.NewInsert().Model(it).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bill := &store.Bill{BillNo: "ADM-2026-000001", Source: "api", ItemID: perBill.ID, PayerType: "external", PayerName: "李同学",
		PayerPhone: "13900000002", AmountDueFen: 15000, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
	if _, err := p.DB.NewInsert().Model(bill).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return open.Code, bill
}

func orderCount(t *testing.T, p *servertest.Platform) int {
	t.Helper()
	n, err := p.DB.NewSelect().Table("orders").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// On a database the demo did not load, started without -simulators, nothing of the
// simulators is reachable: /sim/* is 404, the sandbox cannot be enabled, no page says
// 演示模式, and an off-campus payer is told plainly that no channel is open.
func TestProductionServesNoSimulators(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		if p.Simulators {
			t.Fatal("simulators on for a database the demo did not load, without the flag")
		}
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/sim/sandbox/pay/P2026120400000000001", ""},
			{"POST", "/sim/sandbox/pay/P2026120400000000001/confirm", ""},
			{"POST", "/sim/sandbox/switches", `{"drop_notify": true}`},
			{"POST", "/sim/card/api/debit", `{}`},
			{"GET", "/sim/bank/statements/2026-12-01", ""},
		} {
			req, _ := http.NewRequest(r.method, p.URL+r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", r.method, r.path, resp.StatusCode)
			}
		}
		if live := p.Billing.LiveChannels(ctx); len(live) != 0 {
			t.Errorf("live channels %v on a new production database, want none", live)
		}
		_, err := p.Settings.Save(ctx, settings.Form{Values: map[string]string{settings.ChannelsEnabled: "sandbox"}}, p.Secrets, "admin", "")
		var errs settings.Errors
		if !errors.As(err, &errs) || !strings.Contains(errs[settings.ChannelsEnabled], "模拟渠道") {
			t.Errorf("enabling the sandbox in settings: %v, want refused as a simulator channel", err)
		}
		// Even a sandbox row written behind the console's back takes no payment.
		if _, err := p.Settings.Set(ctx, settings.ChannelsEnabled, "sandbox,campuscard", "db"); err != nil {
			t.Fatal(err)
		}
		if live := p.Billing.LiveChannels(ctx); len(live) != 0 {
			t.Errorf("live channels %v with the sandbox and an unconfigured card enabled, want none", live)
		}

		code, bill := openItems(t, p)
		guest := p.NewBrowser(t)
		status, page := guest.Get("/i/" + code)
		if status != http.StatusOK || !strings.Contains(page, "暂无可用的在线支付方式") || strings.Contains(page, "去支付") {
			t.Errorf("open item page: status %d, want 200 saying no channel is open and no pay button\n%s", status, page)
		}
		if strings.Contains(page, demoBanner) {
			t.Error("a production page shows the demo banner")
		}
		guest.Get("/lookup") // a page with a form, for the CSRF token
		status, page, _ = guest.Post("/i/"+code, url.Values{"name": {"赵校友"}, "phone": {"13900000000"}, "channel": {"sandbox"}})
		if status != http.StatusServiceUnavailable || !strings.Contains(page, "暂无可用的在线支付方式") {
			t.Errorf("guest pay without a channel: status %d, want 503 saying so", status)
		}
		status, page = guest.Get(strings.TrimPrefix(p.Billing.BillLink(bill), p.URL))
		if status != http.StatusServiceUnavailable || !strings.Contains(page, "暂无可用的支付方式") {
			t.Errorf("pay link without a channel: status %d, want 503 saying so", status)
		}
		if n := orderCount(t, p); n != 0 {
			t.Errorf("%d orders made without a channel, want 0", n)
		}

		_, _, resp := guest.Do("GET", "/login", nil, false)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "base-uri 'self'") || !strings.Contains(csp, "form-action 'self';") {
			t.Errorf("CSP %q, want base-uri 'self' and form-action 'self' alone", csp)
		}
	})
}

// A guest on an open item and on a pay link pays through whichever real channel is
// enabled, not the sandbox; the CSP lets forms lead to that channel's site.
func TestGuestPaysThroughEnabledRealChannel(t *testing.T) {
	real := &realChannel{paid: map[string]int64{}}
	servertest.Each(t, servertest.Options{Channels: map[string]channel.Channel{"alipay": real}}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		if _, err := p.Settings.Set(ctx, settings.ChannelsEnabled, "alipay", "admin"); err != nil {
			t.Fatal(err)
		}
		code, bill := openItems(t, p)
		guest := p.NewBrowser(t)
		status, page := guest.Get("/i/" + code)
		if status != http.StatusOK || !strings.Contains(page, `name="channel" value="alipay"`) || strings.Contains(page, "sandbox") {
			t.Fatalf("open item page: status %d, want a form paying with alipay\n%s", status, page)
		}
		status, body, resp := guest.Post("/i/"+code, url.Values{"name": {"赵校友"}, "phone": {"13900000000"}, "channel": {"alipay"}})
		if status != http.StatusSeeOther {
			t.Fatalf("guest pay: status %d\n%s", status, body)
		}
		orderNo := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))[1]
		o, err := p.Billing.Order(ctx, orderNo)
		if err != nil {
			t.Fatal(err)
		}
		if o.Channel != "alipay" || !strings.HasPrefix(o.PayURL, realOrigin+"/") {
			t.Errorf("guest order on %s paying at %q, want alipay's site", o.Channel, o.PayURL)
		}
		real.mu.Lock()
		real.paid[orderNo] = o.TotalFen
		real.mu.Unlock()
		if o, err = p.Billing.SyncOrder(ctx, orderNo); err != nil || o.Status != store.OrderPaid {
			t.Fatalf("after paying at the channel: %v %v, want paid", o, err)
		}
		if _, page := guest.Get("/pay/orders/" + orderNo); !strings.Contains(page, "支付成功") {
			t.Error("guest's order page does not say 支付成功")
		}

		// The same for a business system's pay link.
		status, _, resp = guest.Do("GET", strings.TrimPrefix(p.Billing.BillLink(bill), p.URL), nil, false)
		if status != http.StatusSeeOther {
			t.Fatalf("pay link: status %d, want 303 to the order", status)
		}
		m := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))
		if m == nil {
			t.Fatalf("pay link led to %q", resp.Header.Get("Location"))
		}
		if o, _ := p.Billing.Order(ctx, m[1]); o == nil || o.Channel != "alipay" {
			t.Errorf("pay link order %v, want on alipay", o)
		}

		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "form-action 'self' "+realOrigin+";") || strings.Contains(csp, "http: https:") {
			t.Errorf("CSP %q, want form-action 'self' %s", csp, realOrigin)
		}
	})
}

// With -simulators on a database the demo did not load, the simulators are served and
// every cashier and console page says plainly that payments are simulated.
func TestSimulatorsFlagShowsBanner(t *testing.T) {
	servertest.Each(t, servertest.Options{Simulators: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		if !p.Simulators {
			t.Fatal("simulators off with the flag")
		}
		resp, err := http.Post(p.URL+"/sim/sandbox/switches", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Error("POST /sim/sandbox/switches: 404 with simulators on")
		}
		if _, err := p.Settings.Save(ctx, settings.Form{Values: map[string]string{settings.ChannelsEnabled: "sandbox,campuscard"}}, p.Secrets, "admin", ""); err != nil {
			t.Fatalf("enabling the simulator channels with simulators on: %v", err)
		}
		hash, err := auth.HashPassword("admin123456")
		if err != nil {
			t.Fatal(err)
		}
		now := store.UTC(time.Now())
		admin := &store.User{Login: "admin", Name: "系统管理员", Roles: store.RoleAdmin, PasswordHash: hash, Status: "active", CreatedAt: now, UpdatedAt: now}
		if _, err := p.DB.NewInsert().Model(admin).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		b := p.NewBrowser(t)
		for _, path := range []string{"/login", "/lookup", "/pay/orders/P2026120400000000001"} {
			if _, page := b.Get(path); !strings.Contains(page, demoBanner) {
				t.Errorf("cashier page %s without the demo banner", path)
			}
		}
		b.Get("/login")
		code, body, _ := b.Post("/login", url.Values{"login": {"admin"}, "password": {"admin123456"}})
		if code != http.StatusSeeOther {
			t.Fatalf("admin login: %d\n%s", code, body)
		}
		for _, path := range []string{"/console", "/console/settings", "/console/no-such-page"} {
			if _, page := b.Get(path); !strings.Contains(page, demoBanner) {
				t.Errorf("console page %s without the demo banner", path)
			}
		}
	})
}

// The campus card adapter talks to the card system's address set in the settings, with
// the key set there.
func TestCampusCardUsesConfiguredEndpoint(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		target, _ := url.Parse(p.URL)
		var mu sync.Mutex
		var seen []string
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.Path)
			mu.Unlock()
			httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
		}))
		defer proxy.Close()
		// The card system sits on the campus network: like a real school, the test names
		// its address on the egress allow-list, or the guard refuses the connection.
		if _, err := p.Settings.Save(ctx, settings.Form{Values: map[string]string{
			settings.CampusCardEndpoint: proxy.URL + "/sim/card",
			settings.CampusCardKey:      p.Card.Key,
			settings.EgressAllow:        strings.TrimPrefix(proxy.URL, "http://"),
		}}, p.Secrets, "admin", ""); err != nil {
			t.Fatal(err)
		}
		b := p.NewBrowser(t)
		b.Login(student, password)
		orderNo := createOrder(t, b, "campuscard", billIDs(t, p, student)["CET-2026-12"])
		b.Get("/pay/orders/" + orderNo)
		if code, body, _ := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"123456"}}, true); code != http.StatusNoContent {
			t.Fatalf("card payment through the configured endpoint: status %d\n%s", code, body)
		}
		mu.Lock()
		got := strings.Join(seen, ",")
		mu.Unlock()
		if !strings.Contains(got, "POST /sim/card/api/debit") {
			t.Errorf("the configured card system saw %q, want the debit", got)
		}
		if o, _ := p.Billing.Order(ctx, orderNo); o.Status != store.OrderPaid {
			t.Errorf("order %s, want paid", o.Status)
		}

		// A wrong key there: the card system's answers do not verify, nothing is paid.
		if _, err := p.Settings.Save(ctx, settings.Form{Values: map[string]string{settings.CampusCardKey: "not-the-card-systems-key"}}, p.Secrets, "admin", ""); err != nil {
			t.Fatal(err)
		}
		orderNo = createOrder(t, b, "campuscard", billIDs(t, p, student)["DORM-2026"])
		b.Get("/pay/orders/" + orderNo)
		if _, body, _ := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"123456"}}, true); !strings.Contains(body, "alert-error") {
			t.Errorf("card payment with the wrong key: %q, want an error", body)
		}
		if o, _ := p.Billing.Order(ctx, orderNo); o.Status != store.OrderOpen {
			t.Errorf("order %s after a card system that does not verify, want open", o.Status)
		}
	})
}
