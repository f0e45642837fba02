package alipay_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
	alipaysim "campuspay/app/sim/alipay"
)

var shanghai = time.FixedZone("CST", 8*3600)

// clock is a settable time shared by the fake and the adapter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is the fake Alipay served over HTTP, a notification door that records what it
// receives, and a provider opened against the fake.
type env struct {
	t        *testing.T
	clock    *clock
	sim      *alipaysim.Sim
	srv      *httptest.Server
	door     *httptest.Server
	received chan []byte
	ackMu    sync.Mutex
	fails    int // the door answers "fail" to this many more deliveries, then "success"
	p        channel.Provider
}

const sep1 = 10 // 2024-09-01 10:00 Beijing time: the business day most tests use

func newEnv(t *testing.T, cert bool) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Date(2024, 9, 1, sep1, 0, 0, 0, shanghai)}, received: make(chan []byte, 64)}
	sim, err := alipaysim.New("/sim/alipay", e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.RetryCompression = 60_000 // 4 minutes → 4 ms
	e.sim = sim
	e.srv = httptest.NewServer(sim)
	e.door = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.received <- b
		e.ackMu.Lock()
		a := "success"
		if e.fails > 0 {
			e.fails--
			a = "fail"
		}
		e.ackMu.Unlock()
		io.WriteString(w, a)
	}))
	t.Cleanup(func() {
		sim.Close()
		e.door.Close()
		e.srv.Close()
	})
	e.p = e.open(e.values(cert))
	return e
}

func (e *env) gateway() string { return e.srv.URL + "/sim/alipay/gateway.do" }

func (e *env) values(cert bool) map[string]string {
	if cert {
		return e.sim.CertMerchantValues(e.gateway())
	}
	return e.sim.MerchantValues(e.gateway())
}

func (e *env) open(values map[string]string) channel.Provider {
	e.t.Helper()
	p, err := alipay.Driver{}.Open(channel.MerchantConfig{MerchantID: 1, Values: values, Now: e.clock.Now})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return p
}

func (e *env) failNext(n int) {
	e.ackMu.Lock()
	defer e.ackMu.Unlock()
	e.fails = n
}

func (e *env) notifyURL() string { return e.door.URL + "/notify/alipay/1" }

// pay asks for an attempt by way.
func (e *env) pay(no string, way channel.Way, fen int64) channel.PayResult {
	e.t.Helper()
	res, err := e.p.Pay(context.Background(), channel.PayRequest{
		AttemptNo: no, Way: way, AmountFen: fen, Subject: "2024 秋季学费",
		CreatedAt: e.clock.Now().UTC(), ExpiresAt: e.clock.Now().Add(2 * time.Hour).UTC(),
		NotifyURL: e.notifyURL(), ReturnURL: "https://pay.example.edu.cn/pay/return",
	})
	if err != nil {
		e.t.Fatalf("Pay(%s, %s): %v", no, way, err)
	}
	return res
}

// noRedirect is a browser that stops at every redirect so the test can look at it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// hostedPage follows a PayResult to the fake's hosted page and returns its address.
func (e *env) hostedPage(res channel.PayResult) string {
	e.t.Helper()
	if res.QRContent != "" {
		return res.QRContent
	}
	resp, err := noRedirect.Get(res.RedirectURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("GET %s = %d, want 302 to the hosted page", res.RedirectURL, resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		e.t.Fatal(err)
	}
	return loc.String()
}

// scanAndPay opens the hosted page (the payer scans) and presses 确认支付.
func (e *env) scanAndPay(res channel.PayResult) {
	e.t.Helper()
	page := e.hostedPage(res)
	body := get(e.t, page)
	if !strings.Contains(body, "确认支付") {
		e.t.Fatalf("hosted page has no 确认支付 button:\n%s", body)
	}
	resp, err := noRedirect.PostForm(page, url.Values{"action": {"pay"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("POST %s = %d, want 303", page, resp.StatusCode)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// next waits for the next notification at the door.
func (e *env) next() []byte {
	e.t.Helper()
	select {
	case b := <-e.received:
		return b
	case <-time.After(10 * time.Second):
		e.t.Fatal("no notification arrived within 10 s")
		return nil
	}
}

// none checks that no notification is waiting at the door after the fake has been
// closed (so none can still be on its way).
func (e *env) noneAfterClose() {
	e.t.Helper()
	e.sim.Close()
	select {
	case b := <-e.received:
		e.t.Fatalf("unexpected notification %s", b)
	default:
	}
}

func (e *env) notice(body []byte) channel.Notice {
	e.t.Helper()
	n, err := e.p.Notification(context.Background(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body)
	if err != nil {
		e.t.Fatalf("Notification: %v\n%s", err, body)
	}
	return n
}

func (e *env) query(no string) channel.Trade {
	e.t.Helper()
	tr, err := e.p.Query(context.Background(), channel.TradeRef{AttemptNo: no})
	if err != nil {
		e.t.Fatalf("Query(%s): %v", no, err)
	}
	return tr
}

// lastCall is the latest gateway request of a method.
func (e *env) lastCall(method string) alipaysim.Call {
	e.t.Helper()
	calls := e.sim.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Method == method {
			return calls[i]
		}
	}
	e.t.Fatalf("no %s call reached the fake", method)
	return alipaysim.Call{}
}

func form(t *testing.T, body []byte) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
