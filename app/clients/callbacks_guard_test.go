package clients_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/billing/billingtest"
	"campuspay/app/clients"
	"campuspay/app/egress"
	"campuspay/app/fault"
	"campuspay/app/settings"
	"campuspay/store"
	"campuspay/store/storetest"
)

// allowing is a guard whose allow-list is list: test receivers listen on loopback, which
// the platform refuses by default.
func allowing(list string) *egress.Guard {
	return &egress.Guard{AllowList: func(context.Context) string { return list }}
}

// receiverOn serves h on address (e.g. "127.0.0.2:0") and returns its URL and how many
// requests reached it; the test is skipped where the address cannot be bound.
func receiverOn(t *testing.T, network, address string, h http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", address, err)
	}
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &hits
}

func accept(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// queueCallback registers appID with callbackURL (written straight to the row: the form
// refuses literal internal addresses) and queues one event for it, due now.
func queueCallback(t *testing.T, f *billingtest.Fixture, appID, callbackURL string) *store.Event {
	t.Helper()
	ctx := context.Background()
	f.Clients.Secrets = auth.Box{Key: []byte("test")}
	if _, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: appID, Name: "回调测试"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.NewUpdate().Model((*store.Client)(nil)).Set("callback_url = ?", callbackURL).Where("app_id = ?", appID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	now := f.Clock.Now()
	ev := &store.Event{EventID: "evt_" + appID, Client: appID, Type: "bill.paid", Status: clients.EventPending,
		Payload: `{"event_id":"evt_` + appID + `"}`, NextAt: store.UTC(now), CreatedAt: store.UTC(now)}
	billingtest.Insert(t, f.DB, ev)
	return ev
}

func eventByID(t *testing.T, db *bun.DB, id int64) *store.Event {
	t.Helper()
	ev := new(store.Event)
	if err := db.NewSelect().Model(ev).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestCallbacksRefuseInternalAddresses sends callbacks to the security test's probes:
// without the allow-list none is connected to and each attempt says why; with it, those
// that have a receiver are delivered.
func TestCallbacksRefuseInternalAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		u1, hits1 := receiverOn(t, "tcp4", "127.0.0.1:0", accept)
		u2, hits2 := receiverOn(t, "tcp4", "127.0.0.2:0", accept)
		u6, hits6 := receiverOn(t, "tcp6", "[::1]:0", accept)
		port1 := strings.TrimPrefix(u1, "http://127.0.0.1:")
		probes := []struct {
			app, url string
			hits     *atomic.Int64 // nil: nothing listens there
			allow    string
		}{
			{"probe-127-0-0-2", u2 + "/cb", hits2, egress.HostPortOf(u2)},
			{"probe-ipv6-loopback", u6 + "/cb", hits6, "::1"},
			{"probe-localhost", "http://localhost:" + port1 + "/cb", hits1, "localhost:" + port1}, // a name resolving to 127.0.0.1
			{"probe-mapped", "http://[::ffff:127.0.0.1]:" + port1 + "/cb", hits1, "127.0.0.0/8"},
			{"probe-metadata", "http://169.254.169.254/latest/meta-data/", nil, ""},
			{"probe-redis", "http://localhost:6379/", nil, ""},
		}
		allowList := "" // what the administrator has allowed: nothing yet
		f.Clients.Egress = &egress.Guard{AllowList: func(context.Context) string { return allowList }}
		events := map[string]*store.Event{}
		for _, p := range probes {
			events[p.app] = queueCallback(t, f, p.app, p.url)
		}
		if d, _, err := f.Clients.DeliverEvents(ctx, 50); err != nil || d != 0 {
			t.Fatalf("DeliverEvents without allow-list = %d, %v; want none delivered", d, err)
		}
		for _, p := range probes {
			ev := eventByID(t, db, events[p.app].ID)
			if ev.Status != clients.EventPending || ev.Attempts != 1 || ev.LastStatus != 0 || !strings.Contains(ev.LastError, "回调地址指向内网") {
				t.Errorf("%s: %s after %d attempts, last %d %q; want a refused attempt saying why", p.url, ev.Status, ev.Attempts, ev.LastStatus, ev.LastError)
			}
		}
		if n := hits1.Load() + hits2.Load() + hits6.Load(); n != 0 {
			t.Fatalf("%d callbacks reached a loopback receiver without the allow-list", n)
		}

		// With each probe's address on the allow-list, those with a receiver are delivered.
		var list []string
		for _, p := range probes {
			if p.hits != nil {
				list = append(list, p.allow)
			}
		}
		allowList = strings.Join(list, "\n")
		f.Clock.Advance(time.Minute)
		if _, _, err := f.Clients.DeliverEvents(ctx, 50); err != nil {
			t.Fatal(err)
		}
		for _, p := range probes {
			ev := eventByID(t, db, events[p.app].ID)
			if delivered := ev.Status == clients.EventDelivered; delivered != (p.hits != nil) {
				t.Errorf("%s with allow-list %q: %s (%q), want delivered %v", p.url, p.allow, ev.Status, ev.LastError, p.hits != nil)
			}
		}
	})
}

// TestCallbackRedirectIsAFailure: a receiver (allowed) that redirects to the platform's
// own /healthz gets no second request there; the attempt fails, saying so.
func TestCallbackRedirectIsAFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		healthz, healthzHits := receiverOn(t, "tcp4", "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
		recv, _ := receiverOn(t, "tcp4", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, healthz+"/healthz", http.StatusFound)
		})
		f.Clients.Egress = allowing("127.0.0.1/32") // both are allowed: only the redirect is refused
		ev := queueCallback(t, f, "redirector", recv+"/cb")
		if d, _, err := f.Clients.DeliverEvents(ctx, 50); err != nil || d != 0 {
			t.Fatalf("DeliverEvents = %d, %v; want the redirect not delivered", d, err)
		}
		got := eventByID(t, db, ev.ID)
		if got.Status != clients.EventPending || got.LastStatus != http.StatusFound || !strings.Contains(got.LastError, "重定向") ||
			!strings.Contains(got.LastError, "/healthz") {
			t.Errorf("event %s, last %d %q; want a failed attempt naming the redirect", got.Status, got.LastStatus, got.LastError)
		}
		if n := healthzHits.Load(); n != 0 {
			t.Errorf("the redirect was followed: /healthz got %d requests", n)
		}
	})
}

// TestCallbackKeepsAShortExcerpt: of a long answer with markup and control characters,
// at most 200 printable characters are kept.
func TestCallbackKeepsAShortExcerpt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		recv, _ := receiverOn(t, "tcp4", "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("<script>alert(1)</script>\x00\x1b[31m\r\n\r\n  出错了" + strings.Repeat("数据库连接失败 ", 300)))
		})
		f.Clients.Egress = allowing(egress.HostPortOf(recv))
		ev := queueCallback(t, f, "talker", recv+"/cb")
		f.Clients.DeliverEvents(ctx, 50)
		got := eventByID(t, db, ev.ID)
		if got.LastStatus != http.StatusInternalServerError || utf8.RuneCountInString(got.LastError) > 200 || !strings.HasSuffix(got.LastError, "…") ||
			!strings.HasPrefix(got.LastError, "<script>alert(1)</script>\\u0000\\u001b[31m 出错了数据库连接失败 数据库连接失败") {
			t.Errorf("excerpt (%d characters) = %q; want at most 200, control characters escaped, cut with …", utf8.RuneCountInString(got.LastError), got.LastError)
		}
		for _, r := range got.LastError {
			if !unicode.IsPrint(r) {
				t.Errorf("excerpt keeps the unprintable %U", r)
			}
		}
	})
}

// TestCallbackRetryScheduleSetting: the setting decides when the next attempt is, and
// how many there are before the event is marked failed.
func TestCallbackRetryScheduleSetting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		f.Clients.Settings = settings.New(db)
		if _, err := f.Clients.Settings.Set(ctx, settings.CallbackRetrySchedule, "30s,2h", "admin"); err != nil {
			t.Fatal(err)
		}
		ev := queueCallback(t, f, "no-answer", "http://169.254.169.254/cb") // refused: a failed attempt every time
		next := func() time.Time {
			t.Helper()
			if _, _, err := f.Clients.DeliverEvents(ctx, 50); err != nil {
				t.Fatal(err)
			}
			return eventByID(t, db, ev.ID).NextAt
		}
		start := f.Clock.Now()
		if got := next(); !got.Equal(start.Add(30 * time.Second)) {
			t.Errorf("after the first attempt next_at = %v, want %v (30s later)", got, start.Add(30*time.Second))
		}
		f.Clock.Advance(31 * time.Second)
		if got := next(); !got.Equal(start.Add(31*time.Second + 2*time.Hour)) {
			t.Errorf("after the second attempt next_at = %v, want 2h later", got)
		}
		f.Clock.Advance(2*time.Hour + time.Second)
		if _, failed, _ := f.Clients.DeliverEvents(ctx, 50); failed != 1 || eventByID(t, db, ev.ID).Status != clients.EventFailed {
			t.Errorf("third attempt of a two-step schedule: gave up on %d, want the event marked failed", failed)
		}
		// The default is API.md's schedule.
		def, _ := settings.Lookup(settings.CallbackRetrySchedule)
		if d, err := settings.ParseSchedule(def.Default); err != nil || len(d) != len(clients.CallbackRetries) || d[0] != clients.CallbackRetries[0] || d[7] != clients.CallbackRetries[7] {
			t.Errorf("default schedule %q, want clients.CallbackRetries %v", def.Default, clients.CallbackRetries)
		}
	})
}

// TestResendAllUndelivered: finance's "resend all" puts back every callback not yet
// delivered, failed or still waiting for a retry, and leaves delivered ones alone.
func TestResendAllUndelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		now := store.UTC(f.Clock.Now())
		later := now.Add(6 * time.Hour)
		rows := map[string]*store.Event{
			clients.EventFailed:    {Status: clients.EventFailed, Attempts: 9, NextAt: now},
			clients.EventPending:   {Status: clients.EventPending, Attempts: 5, NextAt: later},
			clients.EventDelivered: {Status: clients.EventDelivered, Attempts: 1, NextAt: now, DeliveredAt: &now},
		}
		for st, ev := range rows {
			ev.EventID, ev.Client, ev.Type, ev.Payload, ev.CreatedAt = "evt_"+st, "admissions", "bill.paid", "{}", now
			billingtest.Insert(t, db, ev)
		}
		billingtest.Insert(t, db, &store.Event{EventID: "evt_other", Client: "donations", Type: "bill.paid", Status: clients.EventPending, Attempts: 5, NextAt: later, CreatedAt: now, Payload: "{}"})
		if n, err := f.Clients.ResendEvents(ctx, "admissions", 0, "finance"); err != nil || n != 2 {
			t.Fatalf("ResendEvents(all) = %d, %v; want 2 (the failed one and the one waiting)", n, err)
		}
		for st, ev := range rows {
			got := eventByID(t, db, ev.ID)
			if st == clients.EventDelivered {
				if got.Status != clients.EventDelivered || got.Attempts != 1 {
					t.Errorf("delivered event changed: %s after %d", got.Status, got.Attempts)
				}
				continue
			}
			if got.Status != clients.EventPending || got.Attempts != 0 || !got.NextAt.Equal(now) {
				t.Errorf("%s event after resend: %s, %d attempts, next %v; want pending from 0, due now", st, got.Status, got.Attempts, got.NextAt)
			}
		}
		var other store.Event
		db.NewSelect().Model(&other).Where("event_id = 'evt_other'").Scan(ctx)
		if other.Attempts != 5 {
			t.Errorf("another client's callback was resent")
		}
		var audit store.AuditLog
		if err := db.NewSelect().Model(&audit).Where("action = 'callback.resent' AND target_id = 'admissions'").Scan(ctx); err != nil ||
			audit.Actor != "finance" || !strings.Contains(audit.Detail, "count=2") {
			t.Errorf("audit = %+v, %v; want finance's resend of 2", audit, err)
		}
	})
}

// TestClientCallbackURLChecked: a callback URL naming an internal address is refused when
// the client is saved, unless the allow-list names it; names are left to the dial check.
func TestClientCallbackURLChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := billingtest.NewFixture(t, db)
		f.Clients.Secrets = auth.Box{Key: []byte("test")}
		allowList := ""
		f.Clients.Egress = &egress.Guard{AllowList: func(context.Context) string { return allowList }}
		for i, u := range []string{"http://127.0.0.2/cb", "http://169.254.169.254/latest", "http://[::1]:8080/cb", "http://localhost:6379/",
			"http://10.20.1.5:8080/cb", "http://[::ffff:192.168.1.1]/cb", "gopher://exam.example.edu.cn/"} {
			_, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "probe-" + string(rune('a'+i)), Name: "探测", CallbackURL: u}, "test")
			if be := (*fault.Error)(nil); !errors.As(err, &be) || be.Code != "callback_invalid" {
				t.Errorf("CreateClient with callback %s = %v, want callback_invalid", u, err)
			}
		}
		if _, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "exam", Name: "考试系统", CallbackURL: "https://exam.example.edu.cn/cb"}, "test"); err != nil {
			t.Errorf("a public callback URL: %v", err)
		}
		allowList = "10.20.0.0/16"
		if _, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "oa-system", Name: "内网系统", CallbackURL: "http://10.20.1.5:8080/cb"}, "test"); err != nil {
			t.Errorf("an allowed internal callback URL: %v", err)
		}
	})
}
