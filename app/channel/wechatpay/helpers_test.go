package wechatpay_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wxsim "campuspay/app/sim/wechatpay"
)

const simBase = "/sim/wechatpay"

// received is one notification as the platform's door received it.
type received struct {
	header http.Header
	body   []byte
	notice channel.Notice
	err    error
}

// env is the fake WeChat Pay on an httptest server, a merchant's Provider opened against
// it, and a notification door that decodes with that Provider.
type env struct {
	sim    *wxsim.Sim
	srv    *httptest.Server
	door   *httptest.Server
	values map[string]string
	p      channel.Provider
	got    chan received

	mu sync.Mutex
	// door decodes with this provider (the test's p unless set otherwise).
	doorP channel.Provider
	// refuse, when set, decides whether the door answers FAIL to the nth notification.
	refuse func(n int) bool
	seen   int
}

func (e *env) setDoor(p channel.Provider, refuse func(n int) bool) {
	e.mu.Lock()
	e.doorP, e.refuse, e.seen = p, refuse, 0
	e.mu.Unlock()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{got: make(chan received, 100)}
	e.sim = wxsim.New(simBase, nil, nil)
	mux := http.NewServeMux()
	mux.Handle(simBase+"/", e.sim)
	e.srv = httptest.NewServer(mux)
	e.sim.SetPublicURL(e.srv.URL + simBase)
	e.door = httptest.NewServer(http.HandlerFunc(e.serveDoor))
	t.Cleanup(func() {
		e.sim.Close()
		e.srv.Close()
		e.door.Close()
	})
	if err := e.sim.SetSwitches(wxsim.Switches{RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e.values = e.sim.MerchantValues()
	e.p = e.open(t, e.values, nil)
	e.setDoor(e.p, nil)
	return e
}

func (e *env) open(t *testing.T, values map[string]string, now func() time.Time) channel.Provider {
	t.Helper()
	p, err := wechatpay.New().Open(channel.MerchantConfig{MerchantID: 1, Values: values,
		HTTPClient: e.srv.Client(), Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return p
}

func (e *env) serveDoor(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e.mu.Lock()
	p, refuse := e.doorP, e.refuse
	e.seen++
	seen := e.seen
	e.mu.Unlock()
	n, err := p.Notification(r.Context(), r.Header, body)
	ok := err == nil && (refuse == nil || !refuse(seen))
	e.got <- received{header: r.Header.Clone(), body: body, notice: n, err: err}
	ack := p.Ack(ok, "处理失败")
	if ack.ContentType != "" {
		w.Header().Set("Content-Type", ack.ContentType)
	}
	w.WriteHeader(ack.Status)
	_, _ = w.Write(ack.Body)
}

func (e *env) notifyURL() string { return e.door.URL + "/notify/wechatpay/1" }

// next waits for the next notification at the door.
func (e *env) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-e.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived within 10 s")
		return received{}
	}
}

func (e *env) pay(t *testing.T, no string, way channel.Way, fen int64) channel.PayResult {
	t.Helper()
	req := channel.PayRequest{AttemptNo: no, Way: way, AmountFen: fen, Subject: "2026 学年学费",
		CreatedAt: time.Now().UTC(), ExpiresAt: time.Now().Add(2 * time.Hour).UTC(),
		NotifyURL: e.notifyURL(), ReturnURL: "https://pay.example.edu.cn/cashier/return",
		PayerIP: "203.0.113.7", OpenID: e.sim.OpenID()}
	res, err := e.p.Pay(context.Background(), req)
	if err != nil {
		t.Fatalf("Pay %s %s: %v", way, no, err)
	}
	return res
}

// paid pays no at the fake and returns the decoded notification.
func (e *env) paid(t *testing.T, no string, fen int64) channel.Notice {
	t.Helper()
	e.pay(t, no, channel.WayWxNative, fen)
	if err := e.sim.Pay(no); err != nil {
		t.Fatal(err)
	}
	r := e.next(t)
	if r.err != nil {
		t.Fatalf("notification: %v", r.err)
	}
	return r.notice
}

func merchantPublicKey(t *testing.T, values map[string]string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(values[wechatpay.FieldPrivateKey]))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &k.(*rsa.PrivateKey).PublicKey
}

func with(values map[string]string, kv ...string) map[string]string {
	v := maps.Clone(values)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(v, kv[i])
		} else {
			v[kv[i]] = kv[i+1]
		}
	}
	return v
}

func wantUnavailable(t *testing.T, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, channel.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to say %q", err, w)
		}
	}
}

// deliveries waits until the fake has recorded n deliveries (it records one when the
// door's answer has arrived, just after the door handed the notification over).
func (e *env) deliveries(t *testing.T, n int) []wxsim.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.sim.Deliveries()) < n && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	return e.sim.Deliveries()
}
