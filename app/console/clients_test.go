package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/app/billing"
	"campuspay/app/clients"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

var clSecretRE = regexp.MustCompile(`id="client-secret">([0-9a-f]+)<`)

// clSignIn returns a browser signed in as login, holding a CSRF token.
func clSignIn(t *testing.T, p *servertest.Platform, login, password string) *servertest.Browser {
	t.Helper()
	b := p.NewBrowser(t)
	b.Login(login, password)
	b.Get("/console")
	return b
}

// clStatus is the HTTP status a signed GET of a missing bill gets: anything but 401 means
// the signature was accepted.
func clStatus(t *testing.T, c *client.Client) int {
	t.Helper()
	err := c.Do(context.Background(), "GET", "/api/v1/bills/NOPE", nil, nil)
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	if err != nil {
		t.Fatal(err)
	}
	return http.StatusOK
}

func TestClientsCreateRotateDisable(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		fin := clSignIn(t, p, "finance", "finance123456")

		// The form offers the approved items; a bad app id comes back beside its field.
		if code, page := fin.Get("/console/clients/new"); code != http.StatusOK || !strings.Contains(page, `value="CET-2026-12"`) {
			t.Fatalf("new client form: status %d, want 200 listing CET-2026-12", code)
		}
		code, page, _ := fin.Post("/console/clients", url.Values{"app_id": {"Bad ID"}, "name": {"考试系统"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "应用编号须为") || !strings.Contains(page, `value="考试系统"`) {
			t.Errorf("bad app id: status %d, want 422 with the reason and the name kept", code)
		}

		// Create: the secret is on this answer, and only here.
		code, page, resp := fin.Post("/console/clients", url.Values{"app_id": {"cl-exam"}, "name": {"<script>alert(1)</script>考试系统"},
			"items": {"CET-2026-12"}, "callback_url": {"https://exam.example.edu.cn/cb"}, "roster": {"on"}, "legacy_md5": {"on"}})
		m := clSecretRE.FindStringSubmatch(page)
		if code != http.StatusOK || m == nil || len(m[1]) != 64 {
			t.Fatalf("create: status %d, want 200 showing a 64-hex secret\n%.2000s", code, page)
		}
		secret := m[1]
		if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(page, "只显示这一次") {
			t.Errorf("secret page: Cache-Control %q; want no-store and the once-only warning", resp.Header.Get("Cache-Control"))
		}
		cl, err := p.Clients.Client(ctx, "cl-exam")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cl.SecretSealed, secret) || cl.AllowedItems != "CET-2026-12" || !cl.Roster || !cl.LegacyMD5 {
			t.Errorf("stored client = %+v; want the secret sealed, CET-2026-12, roster and MD5", cl)
		}
		path := "/console/clients/" + strconv.FormatInt(cl.ID, 10)
		code, page = fin.Get(path)
		if code != http.StatusOK || strings.Contains(page, secret) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;考试系统") ||
			strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "CET-2026-12") {
			t.Errorf("client page: status %d; want the name escaped and no secret", code)
		}
		if _, list := fin.Get("/console/clients?q=cl-exam"); strings.Contains(list, secret) || !strings.Contains(list, "https://exam.example.edu.cn/cb") {
			t.Errorf("client list shows the secret, or not the callback URL")
		}

		// The secret signs requests.
		api := client.New(p.URL, "cl-exam", secret)
		if st := clStatus(t, api); st == http.StatusUnauthorized {
			t.Fatalf("a request signed with the new secret: 401")
		}

		// Rotate (HTMX, from the client page): a fragment with the new secret; the old one stops.
		fin.Get(path)
		_, frag, resp := fin.Do("POST", path+"/secret", url.Values{}, true)
		m = clSecretRE.FindStringSubmatch(frag)
		if m == nil || m[1] == secret || strings.Contains(frag, "<html") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotate: want a fragment with a new secret\n%.1500s", frag)
		}
		if st := clStatus(t, api); st != http.StatusUnauthorized {
			t.Errorf("old secret after rotation: status %d, want 401", st)
		}
		api.Secret = m[1]
		if st := clStatus(t, api); st == http.StatusUnauthorized {
			t.Errorf("new secret after rotation: 401")
		}
		if _, again := fin.Get(path); strings.Contains(again, m[1]) {
			t.Errorf("the rotated secret shows again on the client page")
		}

		// Disable: refused; enable: accepted again.
		if code, _, resp := fin.Post(path+"/disable", nil); code != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?ok=disabled") {
			t.Fatalf("disable: status %d", code)
		}
		if st := clStatus(t, api); st != http.StatusUnauthorized {
			t.Errorf("disabled client: status %d, want 401", st)
		}
		if _, list := fin.Get("/console/clients?state=disabled"); !strings.Contains(list, "cl-exam") || !strings.Contains(list, "已停用") {
			t.Errorf("disabled filter does not list the client with its badge")
		}
		fin.Get(path)
		if code, _, _ := fin.Post(path+"/enable", nil); code != http.StatusSeeOther {
			t.Fatalf("enable: status %d", code)
		}
		if st := clStatus(t, api); st == http.StatusUnauthorized {
			t.Errorf("re-enabled client: 401")
		}

		// Edit: the items can be emptied, the app id stays.
		fin.Get(path + "/edit")
		code, _, _ = fin.Post(path, url.Values{"app_id": {"changed"}, "name": {"考试报名系统"}, "callback_url": {"ftp://x"}})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("edit with an ftp callback: status %d, want 422", code)
		}
		code, _, _ = fin.Post(path, url.Values{"app_id": {"changed"}, "name": {"考试报名系统"}})
		if cl, _ := p.Clients.Client(ctx, "cl-exam"); code != http.StatusSeeOther || cl == nil || cl.Name != "考试报名系统" || cl.AllowedItems != "" || cl.Roster {
			t.Errorf("edit: status %d, client %+v", code, cl)
		}

		// The request log: five requests, two refused; filters by class and code.
		code, page = fin.Get(path + "/requests")
		if code != http.StatusOK || !strings.Contains(page, "共 5 条") || !strings.Contains(page, "/api/v1/bills/NOPE") || !strings.Contains(page, ">401<") {
			t.Errorf("request log: status %d; want 5 requests with their 401s\n%.3000s", code, page)
		}
		_, frag, _ = fin.Do("GET", path+"/requests?code=unauthorized", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="requests-rows"`) || !strings.Contains(frag, "共 2 条") {
			t.Errorf("request log fragment filtered by unauthorized: want 2 rows, no layout\n%.2000s", frag)
		}
		if _, page := fin.Get(path + "/requests?class=2xx"); strings.Contains(page, ">401<") {
			t.Errorf("2xx filter shows a 401")
		}
		if _, list := fin.Get("/console/clients?q=cl-exam"); strings.Contains(list, "从未") {
			t.Errorf("client list: no last request time after requests")
		}

		// Who may: the leader reads but changes nothing; department staff and payers see nothing.
		leader := clSignIn(t, p, "leader", "leader123456")
		if code, page := leader.Get(path); code != http.StatusOK || strings.Contains(page, "重新生成密钥") {
			t.Errorf("leader on the client page: status %d; want it without the actions", code)
		}
		for _, post := range []string{"/console/clients", path, path + "/secret", path + "/disable"} {
			if code, _, _ := leader.Post(post, url.Values{"app_id": {"leader-app"}, "name": {"领导的系统"}}); code != http.StatusForbidden {
				t.Errorf("leader POST %s: status %d, want 403", post, code)
			}
		}
		for _, who := range [][2]string{{"dept_jwc", "dept123456"}, {"2026000001", "pay123456"}} {
			b := p.NewBrowser(t)
			b.Login(who[0], who[1])
			for _, get := range []string{"/console/clients", path, path + "/requests", path + "/deliveries"} {
				if code, _ := b.Get(get); code != http.StatusForbidden {
					t.Errorf("%s GET %s: status %d, want 403", who[0], get, code)
				}
			}
		}
		audits, _ := p.DB.NewSelect().Model((*store.AuditLog)(nil)).Where("target_type = 'client' AND target_id = 'cl-exam'").Count(ctx)
		if audits < 5 {
			t.Errorf("%d audit rows for the client, want created, rotated, disabled, enabled, updated", audits)
		}
	})
}

// clPaidBillOf makes the demo payer's CET bill a bill of the business system and pays it by
// campus card: one bill.paid callback is queued.
func clPaidBillOf(t *testing.T, p *servertest.Platform, appID string) *store.Bill {
	t.Helper()
	ctx := context.Background()
	var bill store.Bill
	err := p.DB.NewSelect().Model(&bill).
		Join("JOIN charge_items AS ci ON ci.id = bill.item_id").Join("JOIN users AS u ON u.id = bill.payer_id").
		Where("u.payer_no = ? AND ci.code = ?", "2026000001", "CET-2026-12").Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB.NewUpdate().Model((*store.Bill)(nil)).Set("source_client = ?", appID).Where("id = ?", bill.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: *bill.PayerID, Lines: []billing.LineRequest{{BillID: bill.ID}}, Channel: "campuscard"})
	if err != nil {
		t.Fatal(err)
	}
	if o, _, err = p.Billing.StartPayment(ctx, o.OrderNo, "2026000001", "123456"); err != nil || o.Status != store.OrderPaid {
		t.Fatalf("card payment: %v", err)
	}
	return &bill
}

// clEvent reads the client's one event.
func clEvent(t *testing.T, p *servertest.Platform, appID string) *store.Event {
	t.Helper()
	ev := new(store.Event)
	if err := p.DB.NewSelect().Model(ev).Where("client = ?", appID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ev
}

// clGiveUp sends the client's callbacks until delivery gives up: the attempts are set to
// the last one, due now, and delivered once more.
func clGiveUp(t *testing.T, p *servertest.Platform, appID string) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := p.Clients.DeliverEvents(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB.NewUpdate().Model((*store.Event)(nil)).Set("attempts = ?", len(clients.CallbackRetries)).
		Set("next_at = ?", store.UTC(time.Now().Add(-time.Second))).Where("client = ?", appID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, failed, err := p.Clients.DeliverEvents(ctx, 50); err != nil || failed != 1 {
		t.Fatalf("DeliverEvents gave up on %d, %v; want 1", failed, err)
	}
}

func TestClientDeliveriesResend(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		// A receiver that answers every callback with an error page carrying a script.
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`<script>alert("cb")</script> upstream down`))
		}))
		defer recv.Close()
		clAllow(t, p, recv.URL) // the receiver is on loopback
		cl, _, err := p.Clients.CreateClient(ctx, clients.ClientInput{AppID: "cl-cb", Name: "报名系统",
			AllowedItems: []string{"CET-2026-12"}, CallbackURL: recv.URL + "/cb"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		bill := clPaidBillOf(t, p, "cl-cb")
		clGiveUp(t, p, "cl-cb")
		ev := clEvent(t, p, "cl-cb")
		if ev.Status != clients.EventFailed {
			t.Fatalf("event %s, want failed", ev.Status)
		}
		path := "/console/clients/" + strconv.FormatInt(cl.ID, 10)

		// The leader sees the failed callback, its answer escaped, and no resend button.
		leader := clSignIn(t, p, "leader", "leader123456")
		code, page := leader.Get(path + "/deliveries?status=failed")
		if code != http.StatusOK || !strings.Contains(page, ev.EventID) || !strings.Contains(page, bill.BillNo) ||
			!strings.Contains(page, "badge-failed") || !strings.Contains(page, "HTTP 500") {
			t.Fatalf("deliveries (leader): status %d; want the failed event of %s\n%.3000s", code, bill.BillNo, page)
		}
		if strings.Contains(page, `<script>alert("cb")`) || !strings.Contains(page, "&lt;script&gt;alert(&#34;cb&#34;)&lt;/script&gt;") {
			t.Errorf("the receiver's answer is not escaped")
		}
		if strings.Contains(page, `/resend"`) {
			t.Errorf("the leader is offered a resend button")
		}
		if code, _, _ := leader.Post(path+"/deliveries/"+strconv.FormatInt(ev.ID, 10)+"/resend", nil); code != http.StatusForbidden {
			t.Errorf("leader resend: status %d, want 403", code)
		}
		if _, list := leader.Get("/console/clients"); !strings.Contains(list, `deliveries?status=failed">1<`) {
			t.Errorf("client list does not count the failed callback")
		}

		// Finance resends it: pending again, due now, attempts from zero.
		fin := clSignIn(t, p, "finance", "finance123456")
		code, page = fin.Get(path + "/deliveries")
		if !strings.Contains(page, "重发全部未送达") || !strings.Contains(page, "/resend") {
			t.Errorf("finance sees no resend buttons")
		}
		code, _, resp := fin.Post(path+"/deliveries/"+strconv.FormatInt(ev.ID, 10)+"/resend", nil)
		if code != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=resent") {
			t.Fatalf("resend: status %d", code)
		}
		if ev := clEvent(t, p, "cl-cb"); ev.Status != clients.EventPending || ev.Attempts != 0 {
			t.Errorf("after resend: %s after %d attempts, want pending from 0", ev.Status, ev.Attempts)
		}
		_, frag, _ := fin.Do("GET", path+"/deliveries?status=pending", nil, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, `id="deliveries-rows"`) || !strings.Contains(frag, "badge-pending") {
			t.Errorf("pending deliveries fragment:\n%.2000s", frag)
		}

		// It fails for good again; "resend all failed" puts it back too.
		clGiveUp(t, p, "cl-cb")
		fin.Get(path + "/deliveries")
		if code, _, _ := fin.Post(path+"/deliveries/resend", nil); code != http.StatusSeeOther {
			t.Fatalf("resend all failed: status %d", code)
		}
		if ev := clEvent(t, p, "cl-cb"); ev.Status != clients.EventPending {
			t.Errorf("after resend all: %s, want pending", ev.Status)
		}
		// Resend all now takes pending callbacks too: only with nothing undelivered is there
		// nothing to resend.
		if _, err := p.DB.NewUpdate().Model((*store.Event)(nil)).Set("status = ?", clients.EventDelivered).Where("client = ?", "cl-cb").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := fin.Post(path+"/deliveries/resend", nil); code != http.StatusConflict {
			t.Errorf("resend all with none undelivered: status %d, want 409", code)
		}
		// Another client's event is not this client's to resend.
		other, _, _ := p.Clients.CreateClient(ctx, clients.ClientInput{AppID: "cl-other", Name: "其他系统"}, "test")
		fin.Get(path)
		if code, _, _ := fin.Post("/console/clients/"+strconv.FormatInt(other.ID, 10)+"/deliveries/"+strconv.FormatInt(ev.ID, 10)+"/resend", nil); code != http.StatusConflict {
			t.Errorf("resend through another client: status %d, want 409", code)
		}
	})
}
