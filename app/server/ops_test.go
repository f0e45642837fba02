package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"campuspay/app/auth"
	"campuspay/app/demo"
	"campuspay/app/reqlog"
	"campuspay/app/server"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

const (
	student      = "2026000001"
	password     = "pay123456"
	cardPassword = "123456"
	metricsToken = "metrics-token-for-tests-0123456789"
	// The demo business system's secret (README: fixed for the demo only).
	demoClientSecret = "cc4e51ceae278b3739fdc64bf0cb65d7955828125fde48fa906b38265fbb9d3d"
	testSecret       = "test-secret-0123456789abcdef0123456789abcdef"
)

// billIDs returns the ids of a payer's bills by item code.
func billIDs(t *testing.T, p *servertest.Platform, payerNo string) map[string]string {
	t.Helper()
	var rows []struct {
		ID   int64  `bun:"id"`
		Code string `bun:"code"`
	}
	err := p.DB.NewSelect().TableExpr("bills AS b").ColumnExpr("b.id, ci.code").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").Join("JOIN users AS u ON u.id = b.payer_id").
		Where("u.payer_no = ?", payerNo).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Code] = strconv.FormatInt(r.ID, 10)
	}
	return out
}

var orderPathRE = regexp.MustCompile(`/pay/orders/(P[0-9]+)$`)

// createOrder ticks bills and chooses a channel; it returns the order number and the
// request id the platform answered with.
func createOrder(t *testing.T, b *servertest.Browser, channel string, bills ...string) (string, string) {
	t.Helper()
	b.Get("/pay")
	code, body, resp := b.Post("/pay/orders", url.Values{"bill": bills, "channel": {channel}})
	if code != http.StatusSeeOther {
		t.Fatalf("create order: status %d, want 303\n%s", code, body)
	}
	m := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create order redirected to %q, want an order page", resp.Header.Get("Location"))
	}
	return m[1], resp.Header.Get("X-Request-ID")
}

// payAtSandbox confirms the order on the sandbox's hosted page and waits until the
// platform has it paid.
func payAtSandbox(t *testing.T, p *servertest.Platform, orderNo string) {
	t.Helper()
	ctx := context.Background()
	o, err := p.Billing.Order(ctx, orderNo)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(o.PayURL+"/confirm", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, 15*time.Second, "order "+orderNo+" paid", func() bool {
		o, err := p.Billing.Order(ctx, orderNo)
		return err == nil && o.Status == store.OrderPaid
	})
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads /metrics with the token.
func scrape(t *testing.T, p *servertest.Platform) string {
	t.Helper()
	req, _ := http.NewRequest("GET", p.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics with the token: status %d, want 200", resp.StatusCode)
	}
	return string(body)
}

// value finds a sample of the exposition text by name and labels (all of them given,
// in any order) and returns it; absent counts as 0.
func value(body, name string, labels ...string) float64 {
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		matched := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(rest, labels[i]+`="`+labels[i+1]+`"`) {
				matched = false
			}
		}
		if !matched {
			continue
		}
		f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err == nil {
			return f
		}
	}
	return 0
}

func withMetrics(cfg *server.Config) { cfg.MetricsToken = metricsToken }

func TestMetricsMoveAfterPaymentRejectedNotificationAndJob(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true, Jobs: true, Tune: withMetrics}, func(t *testing.T, p *servertest.Platform) {
		before := scrape(t, p)
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		orderNo, _ := createOrder(t, b, "sandbox", ids["DORM-2026"])
		b.Get("/pay/orders/" + orderNo)
		b.Get("/no/such/page/" + orderNo)
		payAtSandbox(t, p, orderNo)

		resp, err := http.Post(p.URL+"/notify/sandbox", "application/json",
			strings.NewReader(`{"merchant":"campuspay","out_trade_no":"`+orderNo+`","trade_no":"SB999","amount_fen":120000,"status":"SUCCESS"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		// The callbacks job runs every 5 s: wait for one run on this instance.
		var after string
		waitFor(t, 30*time.Second, "a deliver-callbacks run", func() bool {
			after = scrape(t, p)
			return value(after, "campuspay_job_runs_total", "job", "deliver-callbacks") > value(before, "campuspay_job_runs_total", "job", "deliver-callbacks")
		})
		moved := []struct {
			name   string
			labels []string
		}{
			{"campuspay_payments_total", []string{"channel", "sandbox", "way", "notify", "outcome", "applied"}},
			{"campuspay_notifications_total", []string{"channel", "sandbox", "outcome", "applied"}},
			{"campuspay_notifications_total", []string{"channel", "sandbox", "outcome", "rejected", "reason", "bad_signature"}},
			{"campuspay_http_requests_total", []string{"route", "/pay/orders/:no", "method", "GET", "status", "200"}},
			{"campuspay_http_requests_total", []string{"route", "/notify/:channel", "method", "POST", "status", "400"}},
			{"campuspay_http_requests_total", []string{"route", "unmatched", "method", "GET", "status", "404"}},
			{"campuspay_job_duration_seconds_count", []string{"job", "deliver-callbacks"}},
		}
		for _, m := range moved {
			if d := value(after, m.name, m.labels...) - value(before, m.name, m.labels...); d < 1 {
				t.Errorf("%s%v moved by %v, want at least 1", m.name, m.labels, d)
			}
		}
		for _, name := range []string{"campuspay_outbox_pending", "campuspay_outbox_oldest_age_seconds", "campuspay_recon_discrepancies_open",
			"campuspay_build_info", "campuspay_job_lease_held", "go_sql_open_connections", "campuspay_ready"} {
			if !strings.Contains(after, "\n"+name) {
				t.Errorf("/metrics has no %s", name)
			}
		}
		if testing.Verbose() {
			t.Log(after)
		}
		if value(after, "campuspay_ready") != 1 {
			t.Errorf("campuspay_ready = %v, want 1", value(after, "campuspay_ready"))
		}
		if strings.Contains(after, orderNo) || strings.Contains(after, student) {
			t.Errorf("/metrics names an order or a payer; labels must be patterns")
		}
		if !strings.Contains(after, `route="/pay/orders/:no"`) {
			t.Errorf("/metrics lacks the route pattern /pay/orders/:no")
		}

		for _, auth := range []string{"", "Bearer wrong", "Basic " + metricsToken, metricsToken} {
			req, _ := http.NewRequest("GET", p.URL+"/metrics", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "campuspay_") {
				t.Errorf("GET /metrics with Authorization %q: status %d, want 401 and no figures", auth, resp.StatusCode)
			}
		}
	})
}

func TestMetricsNotServedWithoutTokenOrAddress(t *testing.T) {
	p := servertest.Start(t, servertest.Options{})
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "campuspay_") {
		t.Errorf("GET /metrics with nothing configured: status %d, want it refused", resp.StatusCode)
	}
}

func TestMetricsOnTheirOwnAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := servertest.Start(t, servertest.Options{Tune: func(c *server.Config) { c.MetricsAddr = addr }})
	var resp *http.Response
	waitFor(t, 10*time.Second, "the metrics listener", func() bool {
		var err error
		resp, err = http.Get("http://" + addr + "/metrics")
		return err == nil
	})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "campuspay_build_info") {
		t.Errorf("GET /metrics on the metrics address: status %d, want 200 with the figures", resp.StatusCode)
	}
	// The public address still refuses it.
	resp2, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode == http.StatusOK {
		t.Errorf("GET /metrics on the public address with a metrics address set: 200, want refused")
	}
}

func TestReadyz(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, p *servertest.Platform) {
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("readyz: status %d, want 200", resp.StatusCode)
		}
		// A migration the database lacks makes the instance unready.
		ctx := context.Background()
		if _, err := p.DB.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version = '0012_recon.sql'"); err != nil {
			t.Fatal(err)
		}
		resp, err = http.Get(p.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "0012_recon.sql") {
			t.Errorf("readyz with a migration missing: %d %q, want 503 naming it", resp.StatusCode, body)
		}
	})
}

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The JSON log of a whole paid order (sign in, order, pay at the sandbox, notification,
// receipt; then a campus card payment with its password) names the request ids and the
// order number, and no secret.
func TestJSONLogOfPaidOrderHasRequestIDsAndNoSecret(t *testing.T) {
	var logs *syncBuffer
	servertest.Each(t, servertest.Options{Demo: true, Tune: func(c *server.Config) {
		logs = &syncBuffer{}
		c.Log = reqlog.NewLogger(logs, "json", nil)
	}}, func(t *testing.T, p *servertest.Platform) { checkPaidOrderLog(t, p, logs) })
}

func checkPaidOrderLog(t *testing.T, p *servertest.Platform, logs *syncBuffer) {
	b := p.NewBrowser(t)
	b.Login(student, password)
	ids := billIDs(t, p, student)

	// A request id the proxy sets is taken and echoed; a bad one is replaced.
	for _, tc := range []struct{ sent, want string }{{"lb-7f3a9c.01", "lb-7f3a9c.01"}, {`bad id"<{}>`, ""}, {strings.Repeat("a", 65), ""}} {
		req, _ := http.NewRequest("GET", p.URL+"/login", nil)
		req.Header.Set("X-Request-ID", tc.sent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		if tc.want != "" && got != tc.want || tc.want == "" && (got == tc.sent || !reqlog.SaneID(got)) {
			t.Errorf("X-Request-ID %q answered %q, want %q (or a fresh id)", tc.sent, got, tc.want)
		}
	}

	orderNo, createID := createOrder(t, b, "sandbox", ids["DORM-2026"])
	_, _, page := b.Do("GET", "/pay/orders/"+orderNo, nil, false)
	pageID := page.Header.Get("X-Request-ID")
	payAtSandbox(t, p, orderNo)
	b.Get("/pay/history")
	cardOrder, _ := createOrder(t, b, "campuscard", ids["CET-2026-12"])
	if _, body, _ := b.Do("POST", "/pay/orders/"+cardOrder+"/card", url.Values{"password": {cardPassword}}, true); strings.Contains(body, "错误") {
		t.Fatalf("card payment refused: %s", body)
	}
	o, _ := p.Billing.Order(context.Background(), cardOrder)
	if o.Status != store.OrderPaid {
		t.Fatalf("card order %s, want paid", o.Status)
	}

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	find := func(what string, match func(m map[string]any) bool) {
		t.Helper()
		for _, m := range lines {
			if match(m) {
				return
			}
		}
		t.Errorf("no log line with %s", what)
	}
	find("the proxy's request id", func(m map[string]any) bool { return m["request_id"] == "lb-7f3a9c.01" })
	find("the order request's id", func(m map[string]any) bool {
		return m["request_id"] == createID && m["route"] == "/pay/orders" && m["status"] == float64(303)
	})
	find("the order page's id and order number", func(m map[string]any) bool {
		return m["request_id"] == pageID && m["order_no"] == orderNo && m["route"] == "/pay/orders/:no"
	})
	find("the notification with its order and trade number", func(m map[string]any) bool {
		return m["route"] == "/notify/:channel" && m["order_no"] == orderNo && m["trade_no"] != nil && m["request_id"] != nil
	})
	find("the card payment with its order number", func(m map[string]any) bool {
		return m["route"] == "/pay/orders/:no/card" && m["order_no"] == cardOrder && m["trade_no"] != nil
	})

	// Secrets: passwords, the session cookie, the CSRF token, the demo client's secret, the
	// master secret and every key derived from it.
	u, _ := url.Parse(p.URL)
	secrets := map[string]string{"card password": cardPassword, "master secret": testSecret,
		"client secret": demoClientSecret, "CSRF token": b.CSRF, "card key": p.Card.Key, "bank key": p.Bank.Key,
	}
	if box, ok := p.Clients.Secrets.(auth.Box); ok {
		secrets["secrets box key"], secrets["secrets box key (hex)"] = string(box.Key), hex.EncodeToString(box.Key)
	} else {
		t.Fatalf("billing secrets are a %T, want auth.Box", p.Clients.Secrets)
	}
	if k, ok := p.Sandbox.Key("campuspay"); ok {
		secrets["sandbox key"] = k
	}
	for _, l := range demo.Logins {
		secrets["password of "+l.Login] = l.Password
	}
	for _, c := range b.Client.Jar.Cookies(u) {
		secrets["cookie "+c.Name] = c.Value
	}
	text := logs.String()
	if len(lines) < 10 {
		t.Fatalf("only %d log lines; the access log is missing", len(lines))
	}
	for what, s := range secrets {
		if s == "" {
			continue
		}
		// Digits-only secrets (the card password) are looked for as a whole value, so that
		// a timestamp's digits do not count.
		re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + regexp.QuoteMeta(s) + `($|[^0-9A-Za-z])`)
		if re.MatchString(text) {
			t.Errorf("the log contains the %s", what)
		}
	}
}
