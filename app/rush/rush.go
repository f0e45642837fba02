// Package rush is the term-start rush of issue 13 (4), end to end: thousands of distinct
// payers, each a browser with a cookie jar of its own, sign in, open /pay, tick their
// bills, create the order, pay on the sandbox's hosted page (the sandbox notifies the
// platform), wait for 支付成功 and open a receipt — against a running platform over HTTP —
// and then every invariant of the money is checked in the database. `campuspay rush`
// runs it (main.go); docs/PERFORMANCE.md has the commands and the figures.
package rush

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"campuspay/app/settings"
	"campuspay/store"
)

// Prefix starts the rush payers' logins (R000001 …), apart from any demo school's.
const Prefix = "R"

// Password is every rush payer's password.
const Password = "rush-password"

// Steps are the steps of one payer, in order; each gets a latency histogram.
var Steps = []string{"login_form", "login", "bills", "order", "order_page", "sandbox_page", "sandbox_confirm", "paid", "receipt"}

// Config is one run.
type Config struct {
	Target   string // the platform's base URL, e.g. http://127.0.0.1:8080
	Payers   int    // distinct payers (seeded R000001 … if missing)
	InFlight int    // payers in flight at once
	Timeout  time.Duration
	Out      io.Writer // progress; nil: none
	// ForwardedFor gives each payer an address of its own in X-Forwarded-For (the
	// platform must run with -proxy-header X-Forwarded-For): phones on mobile networks
	// rather than one campus network behind one address.
	ForwardedFor bool
}

// Seed writes what the rush needs unless it is there: one department, two approved
// per-bill items of the school's merchant, n payers with two unpaid bills each, and the
// sandbox channel enabled. It reports whether it changed the enabled channels (the
// platform's settings cache then needs up to 10 s to see it).
//
// The payers' password hash has bcrypt's minimum cost: with the platform's cost (10) the
// 30,000 sign-ins alone would take about 60 ms of CPU each, half an hour of one core — at a
// school the rush signs in through CAS, and the platform's own hashes are untouched.
func Seed(ctx context.Context, db *bun.DB, n int) (changedChannels bool, err error) {
	now := store.UTC(time.Now())
	have, err := db.NewSelect().Model((*store.User)(nil)).Where("login LIKE ?", Prefix+"%").Count(ctx)
	if err != nil {
		return false, err
	}
	if have > 0 && int(have) != n {
		return false, fmt.Errorf("rush: the database holds %d rush payers, want %d: use a fresh database", have, n)
	}
	if have == 0 {
		if err := seedSchool(ctx, db, n, now); err != nil {
			return false, err
		}
	}
	var cur store.Setting
	err = db.NewSelect().Model(&cur).Where("k = ?", settings.ChannelsEnabled).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	list := strings.Split(cur.Value, ",")
	if slices.Contains(list, "sandbox") {
		return false, nil
	}
	v := strings.Trim(cur.Value+",sandbox", ",")
	return true, store.PutSetting(ctx, db, &store.Setting{Key: settings.ChannelsEnabled, Value: v, UpdatedBy: "rush", UpdatedAt: now})
}

func seedSchool(ctx context.Context, db *bun.DB, n int, now time.Time) error {
	raw, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	if err != nil {
		return err
	}
	hash := string(raw)
	dept := &store.Department{Code: "R-CWC", Name: "财务处", CreatedAt: now}
	if _, err := db.NewInsert().Model(dept).Exec(ctx); err != nil {
		return fmt.Errorf("rush: department: %w", err)
	}
	opens, closes := now.Add(-30*24*time.Hour), now.Add(60*24*time.Hour)
	items := []*store.ChargeItem{
		{Code: "R-TUITION", Name: "开学学费", Category: "tuition"},
		{Code: "R-DORM", Name: "开学住宿费", Category: "accommodation"},
	}
	for _, it := range items {
		it.DepartmentID, it.MerchantID = dept.ID, 1
		it.Audience, it.Pricing, it.Status = store.AudienceInternal, store.PricingPerBill, store.ItemApproved
		it.OpensAt, it.ClosesAt, it.CreatedAt, it.UpdatedAt = &opens, &closes, now, now
	}
	if _, err := db.NewInsert().Model(&items).Exec(ctx); err != nil {
		return fmt.Errorf("rush: items: %w", err)
	}
	amounts := []int64{5_000_00, 1_200_00}
	const chunk = 1_000
	for first := 1; first <= n; first += chunk {
		users := make([]*store.User, 0, chunk)
		for i := first; i < first+chunk && i <= n; i++ {
			no := Login(i)
			users = append(users, &store.User{Login: no, Name: fmt.Sprintf("新生%d", i), PasswordHash: hash, Roles: store.RolePayer,
				PayerNo: &no, Phone: fmt.Sprintf("138%08d", i), Unit: "新生", Status: "active", CreatedAt: now, UpdatedAt: now})
		}
		if _, err := db.NewInsert().Model(&users).Exec(ctx); err != nil {
			return fmt.Errorf("rush: payers: %w", err)
		}
		bills := make([]*store.Bill, 0, 2*len(users))
		for _, u := range users {
			for k, it := range items {
				bills = append(bills, &store.Bill{BillNo: it.Code + "-" + u.Login, Source: "import", ItemID: it.ID,
					PayerID: &u.ID, PayerType: "internal", PayerName: u.Name, AmountDueFen: amounts[k], Status: store.BillUnpaid,
					CreatedAt: now, UpdatedAt: now})
			}
		}
		if _, err := db.NewInsert().Model(&bills).Exec(ctx); err != nil {
			return fmt.Errorf("rush: bills: %w", err)
		}
	}
	return nil
}

// Login is the i-th rush payer's login (1-based).
func Login(i int) string { return fmt.Sprintf("%s%06d", Prefix, i) }

// Result is what a run measured.
type Result struct {
	Done, Failed int
	FirstErrors  []string
	Elapsed      time.Duration
	Steps        map[string]*Histogram
	Orders       []string // the order numbers paid
}

// Run drives cfg.Payers payers, cfg.InFlight at once, each through every step.
func Run(ctx context.Context, cfg Config) *Result {
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	tr := &http.Transport{MaxIdleConns: cfg.InFlight * 2, MaxIdleConnsPerHost: cfg.InFlight * 2, DisableCompression: true,
		IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	res := &Result{Steps: map[string]*Histogram{}}
	for _, s := range Steps {
		res.Steps[s] = NewHistogram()
	}
	var next atomic.Int64
	var done atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stopProgress := make(chan struct{})
	if cfg.Out != nil {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					fmt.Fprintf(cfg.Out, "  %v: %d of %d payers done\n", time.Since(start).Round(time.Second), done.Load(), cfg.Payers)
				}
			}
		}()
	}
	for range cfg.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > cfg.Payers || ctx.Err() != nil {
					return
				}
				p := newPayer(cfg, tr, res.Steps)
				if cfg.ForwardedFor {
					p.addr = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				}
				orderNo, err := p.run(ctx, Login(i))
				done.Add(1)
				mu.Lock()
				if err != nil {
					res.Failed++
					if len(res.FirstErrors) < 10 {
						res.FirstErrors = append(res.FirstErrors, Login(i)+": "+err.Error())
					}
				} else {
					res.Done++
					res.Orders = append(res.Orders, orderNo)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	res.Elapsed = time.Since(start)
	return res
}

// payer is one browser: a cookie jar, the last CSRF token seen.
type payer struct {
	cfg    Config
	client *http.Client
	csrf   string
	addr   string // X-Forwarded-For, if any
	steps  map[string]*Histogram
}

func newPayer(cfg Config, tr http.RoundTripper, steps map[string]*Histogram) *payer {
	jar, _ := cookiejar.New(nil)
	return &payer{cfg: cfg, steps: steps, client: &http.Client{Jar: jar, Transport: tr, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	csrfRE     = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)
	billRE     = regexp.MustCompile(`class="bill-check" type="checkbox" name="bill" value="(\d+)"`)
	orderRE    = regexp.MustCompile(`/pay/orders/(P[0-9]+)$`)
	sandboxRE  = regexp.MustCompile(`href="([^"]*/sim/sandbox/pay/[^"]+)"`)
	confirmRE  = regexp.MustCompile(`<form method="post" action="([^"]+/confirm)"`)
	alertRE    = regexp.MustCompile(`role="alert">([^<]*)<`)
	receiptRE  = regexp.MustCompile(`href="/pay/receipts/(\d+)"`)
	errNotPaid = errors.New("not paid in time")
)

// do sends one request and returns the status, body and response.
func (p *payer) do(ctx context.Context, method, target string, form url.Values, htmx bool) (int, string, *http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if !strings.HasPrefix(target, "http") {
		target = p.cfg.Target + target
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if p.addr != "" {
		req.Header.Set("X-Forwarded-For", p.addr)
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", p.csrf)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", nil, err
	}
	if m := csrfRE.FindSubmatch(raw); m != nil {
		p.csrf = string(m[1])
	}
	return resp.StatusCode, string(raw), resp, nil
}

// step times one step and checks its status.
func (p *payer) step(ctx context.Context, name, method, target string, form url.Values, htmx bool, want int) (string, *http.Response, error) {
	if form != nil && method == "POST" && !htmx {
		form.Set("_csrf", p.csrf)
	}
	t0 := time.Now()
	code, body, resp, err := p.do(ctx, method, target, form, htmx)
	p.steps[name].Add(time.Since(t0))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	if code != want {
		if m := alertRE.FindStringSubmatch(body); m != nil {
			body = m[1]
		}
		return "", nil, fmt.Errorf("%s: %s %s: status %d, want %d: %.200s", name, method, target, code, want, body)
	}
	return body, resp, nil
}

func (p *payer) run(ctx context.Context, login string) (string, error) {
	if _, _, err := p.step(ctx, "login_form", "GET", "/login", nil, false, http.StatusOK); err != nil {
		return "", err
	}
	if _, _, err := p.step(ctx, "login", "POST", "/login", url.Values{"login": {login}, "password": {Password}, "next": {"/pay"}}, false, http.StatusSeeOther); err != nil {
		return "", err
	}
	page, _, err := p.step(ctx, "bills", "GET", "/pay", nil, false, http.StatusOK)
	if err != nil {
		return "", err
	}
	var bills []string
	for _, m := range billRE.FindAllStringSubmatch(page, -1) {
		bills = append(bills, m[1])
	}
	if len(bills) != 2 {
		return "", fmt.Errorf("bills: %d bills on the page, want 2", len(bills))
	}
	_, resp, err := p.step(ctx, "order", "POST", "/pay/orders", url.Values{"bill": bills, "channel": {"sandbox"}}, false, http.StatusSeeOther)
	if err != nil {
		return "", err
	}
	m := orderRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		return "", fmt.Errorf("order: redirected to %q, want an order page", resp.Header.Get("Location"))
	}
	orderNo := m[1]
	page, _, err = p.step(ctx, "order_page", "GET", "/pay/orders/"+orderNo, nil, false, http.StatusOK)
	if err != nil {
		return "", err
	}
	sm := sandboxRE.FindStringSubmatch(page)
	if sm == nil {
		return "", fmt.Errorf("order_page: no link to the sandbox's pay page")
	}
	payURL := strings.ReplaceAll(sm[1], "&amp;", "&")
	page, _, err = p.step(ctx, "sandbox_page", "GET", payURL, nil, false, http.StatusOK)
	if err != nil {
		return "", err
	}
	cm := confirmRE.FindStringSubmatch(page)
	if cm == nil {
		return "", fmt.Errorf("sandbox_page: no confirm form")
	}
	confirmURL, err := url.Parse(payURL)
	if err != nil {
		return "", err
	}
	confirmURL, err = confirmURL.Parse(cm[1])
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	code, body, _, err := p.do(ctx, "POST", confirmURL.String(), url.Values{}, false)
	p.steps["sandbox_confirm"].Add(time.Since(t0))
	if err != nil {
		return "", fmt.Errorf("sandbox_confirm: %w", err)
	}
	if code != http.StatusOK && code != http.StatusSeeOther {
		return "", fmt.Errorf("sandbox_confirm: status %d: %.200s", code, body)
	}
	// 支付成功: the order page's status fragment, polled as the page does (every 2 s there;
	// every 100 ms here, so that the time measured is the platform's).
	t0 = time.Now()
	var receipt string
	for {
		code, body, _, err := p.do(ctx, "GET", "/pay/orders/"+orderNo+"/status", nil, true)
		if err != nil {
			return "", fmt.Errorf("paid: %w", err)
		}
		if code == http.StatusOK && strings.Contains(body, "支付成功") {
			if rm := receiptRE.FindStringSubmatch(body); rm != nil {
				receipt = rm[1]
			}
			// A receipt still being numbered (编号中): the page keeps polling, and so does
			// the payer, until the number shows.
			if receipt != "" || !strings.Contains(body, "编号中") {
				break
			}
		}
		if time.Since(t0) > p.cfg.Timeout {
			return "", fmt.Errorf("paid: order %s: %w", orderNo, errNotPaid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.steps["paid"].Add(time.Since(t0))
	if receipt == "" {
		return "", fmt.Errorf("paid: order %s shows no receipt", orderNo)
	}
	page, _, err = p.step(ctx, "receipt", "GET", "/pay/receipts/"+receipt, nil, false, http.StatusOK)
	if err != nil {
		return "", err
	}
	if !strings.Contains(page, receipt) {
		return "", fmt.Errorf("receipt: page lacks its number %s", receipt)
	}
	return orderNo, nil
}

// Report writes the result.
func (r *Result) Report(w io.Writer) {
	fmt.Fprintf(w, "%d payers done, %d failed, in %v (%.0f payers/s)\n", r.Done, r.Failed, r.Elapsed.Round(time.Millisecond),
		float64(r.Done)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "%-16s %8s %9s %9s %9s %9s\n", "step", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms")
	for _, s := range Steps {
		h := r.Steps[s]
		fmt.Fprintf(w, "%-16s %8d %9.1f %9.1f %9.1f %9.1f\n", s, h.Count(), ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99)), ms(h.Max()))
	}
	for _, e := range r.FirstErrors {
		fmt.Fprintln(w, "error:", e)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Main is `campuspay rush [flags]`.
func Main(args []string) error {
	fs := flag.NewFlagSet("rush", flag.ContinueOnError)
	dsn := fs.String("db", os.Getenv("CAMPUSPAY_DB"), "the platform's MySQL DSN; empty: the embedded SQLite under -data")
	data := fs.String("data", envOr("CAMPUSPAY_DATA", "./data"), "data folder of the embedded SQLite")
	target := fs.String("url", "http://127.0.0.1:8080", "the running platform's base URL")
	payers := fs.Int("payers", 30_000, "distinct payers")
	inflight := fs.Int("inflight", 500, "payers in flight at once")
	xff := fs.Bool("forwarded-for", false, "give each payer an address of its own in X-Forwarded-For (start the platform with -proxy-header X-Forwarded-For)")
	timeout := fs.Duration("timeout", 60*time.Second, "per request, and for 支付成功 to show")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := store.Open(*dsn, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	t0 := time.Now()
	changed, err := Seed(ctx, db, *payers)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d payers, %d bills in %v\n", *payers, 2**payers, time.Since(t0).Round(time.Millisecond))
	if changed {
		fmt.Println("enabled the sandbox channel; waiting 11 s for the platform's settings cache")
		time.Sleep(11 * time.Second)
	}
	before, err := Snapshot(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("driving %d payers, %d in flight, against %s\n", *payers, *inflight, *target)
	res := Run(ctx, Config{Target: *target, Payers: *payers, InFlight: *inflight, Timeout: *timeout, Out: os.Stdout, ForwardedFor: *xff})
	res.Report(os.Stdout)
	fmt.Println("invariants (given the platform's jobs a few seconds for their last payments):")
	time.Sleep(2 * time.Second)
	inv, err := Check(ctx, db, before, *payers)
	if err != nil {
		return err
	}
	inv.Report(os.Stdout)
	if res.Failed > 0 || !inv.OK() {
		return fmt.Errorf("rush: %d payers failed, invariants ok: %v", res.Failed, inv.OK())
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
