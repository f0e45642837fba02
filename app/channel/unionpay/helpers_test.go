package unionpay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/unionpay"
	upsim "campuspay/app/sim/unionpay"
)

var beijing = time.FixedZone("CST", 8*3600)

// clock is a settable time shared by the fake and the adapter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// received is one notification as the platform's door saw it.
type received struct {
	body   []byte
	header http.Header
}

// env is the fake served over HTTP, a notification door, and the adapter pointed at both.
type env struct {
	t      *testing.T
	clock  *clock
	sim    *upsim.Sim
	srv    *httptest.Server
	door   *httptest.Server
	notes  chan received
	prov   channel.Provider
	values map[string]string

	mu      sync.Mutex
	answers []int // the door's next answers (HTTP status); 200 when empty
}

func bj(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, beijing)
}

func newEnv(t *testing.T, opts ...upsim.Option) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: bj(2026, 3, 4, 10, 0)}, notes: make(chan received, 64)}
	sim, err := upsim.New("/sim/unionpay", e.clock.Now, &http.Client{Timeout: 5 * time.Second}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	sim.RetryInterval = 5 * time.Millisecond
	e.sim = sim
	e.srv = httptest.NewServer(sim)
	e.door = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		e.notes <- received{body: body, header: r.Header.Clone()}
		e.mu.Lock()
		status := http.StatusOK
		if len(e.answers) > 0 {
			status, e.answers = e.answers[0], e.answers[1:]
		}
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		sim.Close()
		e.srv.Close()
		e.door.Close()
	})
	e.values = sim.MerchantValues(e.srv.URL)
	e.prov = e.open(e.values)
	return e
}

func (e *env) open(values map[string]string) channel.Provider {
	e.t.Helper()
	p, err := unionpay.Driver{}.Open(channel.MerchantConfig{MerchantID: 1, Values: values, HTTPClient: e.srv.Client(), Now: e.clock.Now})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return p
}

func (e *env) notifyURL() string { return e.door.URL + "/notify/unionpay/1" }

// payReq is an attempt created now, expiring in 30 minutes.
func (e *env) payReq(no string, way channel.Way, fen int64) channel.PayRequest {
	now := e.clock.Now()
	return channel.PayRequest{AttemptNo: no, Way: way, AmountFen: fen, Subject: "2026 春季学费",
		CreatedAt: now.UTC(), ExpiresAt: now.Add(30 * time.Minute).UTC(),
		NotifyURL: e.notifyURL(), ReturnURL: "https://pay.example.edu.cn/return/unionpay", PayerIP: "10.1.2.3"}
}

func (e *env) ref(req channel.PayRequest) channel.TradeRef {
	return channel.TradeRef{AttemptNo: req.AttemptNo, CreatedAt: req.CreatedAt}
}

var tokenPattern = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

// postForm is the payer's browser posting the cashier's form; it returns the page.
func (e *env) postForm(action string, fields map[string]string) string {
	e.t.Helper()
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	resp, err := e.srv.Client().PostForm(action, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// open posts the pay form and returns the token of the pay page's 确认支付 form.
func (e *env) openPage(res channel.PayResult) string {
	e.t.Helper()
	if res.Form == nil {
		e.t.Fatal("Pay gave no form")
	}
	page := e.postForm(res.Form.Action, res.Form.Fields)
	m := tokenPattern.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "确认支付") || strings.Contains(page, "<script") {
		e.t.Fatalf("pay page has no 确认支付 form, or has a script:\n%s", page)
	}
	return m[1]
}

// confirm presses 确认支付 and returns the result page.
func (e *env) confirm(token string) string {
	e.t.Helper()
	return e.postForm(e.srv.URL+"/sim/unionpay/pay", map[string]string{"token": token})
}

// paid creates an attempt, opens the page and pays it; it returns the request.
func (e *env) paid(no string, fen int64) channel.PayRequest {
	e.t.Helper()
	req := e.payReq(no, channel.WayUpPC, fen)
	res, err := e.prov.Pay(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Pay: %v", err)
	}
	page := e.confirm(e.openPage(res))
	if !strings.Contains(page, "支付成功") {
		e.t.Fatalf("result page:\n%s", page)
	}
	return req
}

// next waits for the next notification at the door.
func (e *env) next() received {
	e.t.Helper()
	select {
	case r := <-e.notes:
		return r
	case <-time.After(10 * time.Second):
		e.t.Fatal("no notification within 10 s")
	}
	return received{}
}

// none checks that no notification is waiting at the door.
func (e *env) none() {
	e.t.Helper()
	select {
	case r := <-e.notes:
		e.t.Fatalf("unexpected notification: %s", r.body)
	default:
	}
}

func (e *env) decode(r received) channel.Notice {
	e.t.Helper()
	n, err := e.prov.Notification(context.Background(), r.header, r.body)
	if err != nil {
		e.t.Fatalf("Notification: %v", err)
	}
	return n
}

// formOf reads a notification body.
func formOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k := range v {
		out[k] = v.Get(k)
	}
	return out
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
