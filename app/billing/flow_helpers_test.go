package billing_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/merchants"
	"campuspay/store"
)

// flowFixture is the billing fixture with a fake company served over HTTP beside the
// platform's notification door (/notify/{channel}/{merchant}, answered with the company's
// Ack) and the payer's way back (/return/…), as the company and a browser reach them.
type flowFixture struct {
	*billingtest.Fixture
	srv *httptest.Server

	mu   sync.Mutex
	hits []doorHit
}

// doorHit is one request at the notification door as it arrived, and our answer.
type doorHit struct {
	channel string
	header  http.Header
	body    []byte
	status  int
	ack     []byte
}

// serveFlow mounts company (a fake served under base, e.g. "/sim/wechatpay/") beside the
// door, points the billing service's addresses at that server and opens merchants with the
// driver, reaching the company through the server's client.
func serveFlow(t *testing.T, db *bun.DB, f *billingtest.Fixture, base string, company http.Handler, driver channel.Driver) *flowFixture {
	t.Helper()
	ff := &flowFixture{Fixture: f}
	mux := http.NewServeMux()
	mux.Handle(base, company)
	mux.HandleFunc("POST /notify/{channel}/{merchant}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		id, _ := strconv.ParseInt(r.PathValue("merchant"), 10, 64)
		ack, _ := f.Svc.Notify(r.Context(), r.PathValue("channel"), id, r.Header, body, r.RemoteAddr)
		ff.mu.Lock()
		ff.hits = append(ff.hits, doorHit{channel: r.PathValue("channel"), header: r.Header.Clone(), body: body, status: ack.Status, ack: ack.Body})
		ff.mu.Unlock()
		if ack.Status == 0 {
			http.NotFound(w, r)
			return
		}
		if ack.ContentType != "" {
			w.Header().Set("Content-Type", ack.ContentType)
		}
		w.WriteHeader(ack.Status)
		w.Write(ack.Body)
	})
	mux.HandleFunc("/return/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "back") })
	ff.srv = httptest.NewServer(mux)
	t.Cleanup(ff.srv.Close)

	f.Svc.NotifyURL = func(ch string) string { return ff.srv.URL + "/notify/" + ch }
	f.Svc.ReturnURL = func(no string) string { return ff.srv.URL + "/return/" + no }
	f.Svc.Merchants = &merchants.Service{DB: db, Sealer: auth.Box{Key: []byte("test-secrets")}, Now: f.Clock.Now,
		Drivers: map[string]channel.Driver{driver.Name(): driver}, Client: ff.srv.Client()}
	return ff
}

// saveAccount saves the school's account at the company with values, switched on.
func (f *flowFixture) saveAccount(t *testing.T, name string, values map[string]string) {
	t.Helper()
	if _, err := f.Svc.Merchants.Save(context.Background(), store.DefaultMerchantID, name, values, true, false, "finance"); err != nil {
		t.Fatal(err)
	}
}

// waitHits waits, with a deadline, until n requests have been answered at the door, and
// returns those answered by then (a notification's row is written before its answer).
func (f *flowFixture) waitHits(t *testing.T, n int) []doorHit {
	t.Helper()
	var hits []doorHit
	waitFor(t, func() bool {
		f.mu.Lock()
		hits = append([]doorHit(nil), f.hits...)
		f.mu.Unlock()
		return len(hits) >= n
	})
	return hits
}

// waitOrder waits, with a deadline, until the order is in status.
func (f *flowFixture) waitOrder(t *testing.T, orderNo string, status store.OrderStatus) *store.Order {
	t.Helper()
	var o *store.Order
	waitFor(t, func() bool {
		got, err := f.Svc.Order(context.Background(), orderNo)
		o = got
		return err == nil && got.Status == status
	})
	return o
}

// waitRefund waits, with a deadline, until the refund is in status.
func (f *flowFixture) waitRefund(t *testing.T, id int64, status store.RefundStatus) *store.Refund {
	t.Helper()
	r := new(store.Refund)
	waitFor(t, func() bool {
		return f.DB.NewSelect().Model(r).Where("id = ?", id).Scan(context.Background()) == nil && r.Status == status
	})
	return r
}

// notifications lists the notifications of a channel kept under a number ("": all of them),
// first first. A WeChat refund's are kept under the attempt it refunds, a UnionPay refund's
// under the refund's own number (its message names the payment only by UnionPay's queryId).
func notifications(t *testing.T, db *bun.DB, channelName, no string) []*store.Notification {
	t.Helper()
	var out []*store.Notification
	q := db.NewSelect().Model(&out).Where("channel = ?", channelName).OrderExpr("id")
	if no != "" {
		q = q.Where("order_no = ?", no)
	}
	if err := q.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out
}

// about keeps the notifications whose kept body mentions s.
func about(ns []*store.Notification, s string) []*store.Notification {
	var out []*store.Notification
	for _, n := range ns {
		if strings.Contains(n.Body, s) {
			out = append(out, n)
		}
	}
	return out
}

// outcomes counts notifications by outcome.
func outcomes(ns []*store.Notification) map[string]int {
	m := map[string]int{}
	for _, n := range ns {
		m[n.Outcome]++
	}
	return m
}

// auditCount counts the audit entries of an action on a target.
func auditCount(t *testing.T, db *bun.DB, action, targetID string) int {
	t.Helper()
	n, err := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ?", action).Where("target_id = ?", targetID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// browser follows no redirects by itself: each step of a payer's journey is checked.
var browser = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// page is what a browser got: where it ended and the body.
type page struct {
	url    *url.URL
	status int
	header http.Header
	body   string
}

func readPage(t *testing.T, resp *http.Response, err error) page {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return page{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// open GETs u as a browser would, following up to five redirects.
func open(t *testing.T, u string) page {
	t.Helper()
	for range 5 {
		resp, err := browser.Get(u)
		p := readPage(t, resp, err)
		if loc := p.header.Get("Location"); p.status/100 == 3 && loc != "" {
			next, err := p.url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			u = next.String()
			continue
		}
		return p
	}
	t.Fatalf("%s: too many redirects", u)
	return page{}
}

// post submits fields to action as a browser submits a form.
func post(t *testing.T, action string, fields url.Values) page {
	t.Helper()
	resp, err := browser.PostForm(action, fields)
	return readPage(t, resp, err)
}

var (
	formPattern   = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)">(.*?)</form>`)
	hiddenPattern = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form is the page's form, as the button under it would submit it: the action resolved
// against the page's address and the hidden fields. ok is false when the page has none
// (nothing to press).
func (p page) form() (action string, fields url.Values, ok bool) {
	m := formPattern.FindStringSubmatch(p.body)
	if m == nil {
		return "", nil, false
	}
	u, err := p.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return "", nil, false
	}
	fields = url.Values{}
	for _, h := range hiddenPattern.FindAllStringSubmatch(m[2], -1) {
		fields.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return u.String(), fields, true
}

// press submits the page's form; the page must have one.
func (p page) press(t *testing.T) page {
	t.Helper()
	action, fields, ok := p.form()
	if !ok {
		t.Fatalf("page %s (HTTP %d) has no form to submit:\n%s", p.url, p.status, p.body)
	}
	return post(t, action, fields)
}

func payments(t *testing.T, db *bun.DB, orderID int64) []*store.Payment {
	t.Helper()
	var out []*store.Payment
	if err := db.NewSelect().Model(&out).Where("order_id = ?", orderID).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
