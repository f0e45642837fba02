package sandbox_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/sim/sandbox"
)

const (
	merchant = "M1001"
	key      = "k-3f9a1c77e2"
	prefix   = "/sim/sandbox"
)

var keys = map[string]string{merchant: key, "M2002": "k-other"}

// clock is a settable clock for the simulator.
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

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// env is a simulator served on a loopback listener, as the platform reaches it.
type env struct {
	sim  *sandbox.Sim
	clk  *clock
	base string // http://127.0.0.1:port/sim/sandbox
	db   *bun.DB
}

func newEnv(t *testing.T, db *bun.DB) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	sim := &sandbox.Sim{
		DB:     db,
		Key:    func(m string) (string, bool) { k, ok := keys[m]; return k, ok },
		Client: &http.Client{Timeout: 5 * time.Second},
		Now:    clk.Now,
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	sim.Routes(app.Group(prefix))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, clk: clk, base: "http://" + ln.Addr().String() + prefix, db: db}
	sim.PublicURL = e.base
	go app.Listener(ln)
	t.Cleanup(func() {
		sim.Close()
		app.Shutdown()
	})
	return e
}

// call is one gateway request, signed as a merchant would, unless the fields say otherwise.
type call struct {
	method, path string
	body         any    // JSON-encoded unless a string
	merchant     string // default merchant
	key          string // default key
	skew         time.Duration
	signBody     *string // sign this body instead of the one sent
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", a.status, a.body, err)
	}
	return m
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	s, _ := a.json(t)["code"].(string)
	return s
}

func (e *env) do(t *testing.T, c call) answer {
	t.Helper()
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	m, k := c.merchant, c.key
	if m == "" {
		m = merchant
	}
	if k == "" {
		k = key
	}
	signed := body
	if c.signBody != nil {
		signed = []byte(*c.signBody)
	}
	path := prefix + c.path
	ts := strconv.FormatInt(e.clk.Now().Add(c.skew).Unix(), 10)
	req, err := http.NewRequest(c.method, e.base+c.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sandbox.HeaderMerchant, m)
	req.Header.Set(sandbox.HeaderTimestamp, ts)
	req.Header.Set(sandbox.HeaderSignature, sign(k, c.method+"\n"+path+"\n"+ts+"\n"+hashHex(signed)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, body: rb, header: resp.Header}
	// Every answer to a known merchant must be signed with the request's method and path.
	if k, ok := keys[m]; ok {
		rts := resp.Header.Get(sandbox.HeaderTimestamp)
		want := sign(k, c.method+"\n"+path+"\n"+rts+"\n"+hashHex(rb))
		if got := resp.Header.Get(sandbox.HeaderSignature); got != want {
			t.Errorf("%s %s: answer signature %q, want %q", c.method, c.path, got, want)
		}
	}
	return a
}

func sign(k, msg string) string {
	m := hmac.New(sha256.New, []byte(k))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// createTrade creates a trade and returns its trade_no.
func (e *env) createTrade(t *testing.T, outTradeNo string, amountFen int64, notifyURL string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"out_trade_no": outTradeNo, "amount_fen": amountFen, "subject": "测试收费",
		"notify_url": notifyURL}
	for k, v := range extra {
		body[k] = v
	}
	a := e.do(t, call{method: "POST", path: "/api/trades", body: body})
	if a.status != 200 {
		t.Fatalf("create %s: %d %s", outTradeNo, a.status, a.body)
	}
	return a.json(t)["trade_no"].(string)
}

// browser posts a pay page form without following redirects.
func (e *env) browser(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = client.PostForm(e.base+path, url.Values{})
	} else {
		resp, err = client.Get(e.base + path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) pay(t *testing.T, tradeNo string) {
	t.Helper()
	resp, body := e.browser(t, "POST", "/pay/"+tradeNo+"/confirm")
	if resp.StatusCode != 200 && resp.StatusCode != 303 {
		t.Fatalf("confirm %s: %d %s", tradeNo, resp.StatusCode, body)
	}
}

// receiver is the merchant's notify endpoint; it fails the first `fail` notifications.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	fail int
}

type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{at: time.Now(), header: req.Header.Clone(), body: b})
		failing := len(r.got) <= r.fail
		r.mu.Unlock()
		if failing {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "success")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/notify" }

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// waitFor waits until the receiver has n notifications (or the deadline passes).
func (r *receiver) waitFor(n int, within time.Duration) []received {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if got := r.all(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r.all()
}

// notifyFields verifies a notification's signature and returns its fields.
func notifyFields(t *testing.T, r received) map[string]any {
	t.Helper()
	ts := r.header.Get(sandbox.HeaderTimestamp)
	if got, want := r.header.Get(sandbox.HeaderSignature), sign(key, "NOTIFY\n"+ts+"\n"+hashHex(r.body)); got != want {
		t.Errorf("notification signature = %q, want %q", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("notification %q: %v", r.body, err)
	}
	return m
}

func contains(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, body)
		}
	}
}
