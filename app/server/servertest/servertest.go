// Package servertest starts the whole platform on a loopback port for end-to-end tests,
// browser tests and benchmarks: the real binary's wiring, the real HTTP path to the
// simulated payment company and campus card system.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/server"
	"campuspay/store/storetest"
)

// Platform is a running platform.
type Platform struct {
	*server.Server
	URL string
}

// Options tune Start.
type Options struct {
	MySQL bool // use a fresh database on CAMPUSPAY_TEST_MYSQL instead of SQLite
	Demo  bool // load the demo school
	Jobs  bool // run the background jobs
	// Simulators serves /sim/* and the simulator channels on a database the demo did not
	// load (a demo database has them anyway).
	Simulators bool
	// Channels are extra payment channel adapters (a fake payment company).
	Channels map[string]channel.Channel
	// Tune, when set, changes the configuration before the platform starts (a logger
	// to read, a metrics token).
	Tune func(*server.Config)
}

// Start runs the platform until the test ends.
func Start(t testing.TB, opt Options) *Platform {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := server.Config{
		DataDir: t.TempDir(), BaseURL: base, Demo: opt.Demo, Jobs: opt.Jobs, ShutdownGrace: 500 * time.Millisecond,
		Secret:     "test-secret-0123456789abcdef0123456789abcdef",
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Simulators: opt.Simulators, Channels: opt.Channels,
	}
	if os.Getenv("CAMPUSPAY_TEST_VERBOSE") != "" {
		cfg.Log = slog.Default()
	}
	if opt.MySQL {
		cfg.DSN = storetest.MySQLDSN(t)
	}
	if opt.Tune != nil {
		opt.Tune(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		srv.Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &Platform{Server: srv, URL: base}
}

// Each runs fn once per available database, like storetest.Each, with a platform on each.
func Each(t *testing.T, opt Options, fn func(t *testing.T, p *Platform)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { o := opt; o.MySQL = false; fn(t, Start(t, o)) })
	if os.Getenv(storetest.EnvMySQL) != "" {
		t.Run("mysql", func(t *testing.T) { o := opt; o.MySQL = true; fn(t, Start(t, o)) })
	}
}

// Browser is an HTTP client with a cookie jar that does not follow redirects, so that
// tests see what the platform answered.
type Browser struct {
	T      testing.TB
	Base   string
	Client *http.Client
	CSRF   string // the last CSRF token seen on a page
}

// NewBrowser returns a fresh visitor.
func (p *Platform) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, Base: p.URL, Client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

// Do sends a request and returns the status, the body, and the response. A form is sent
// url-encoded; htmx marks it as an HTMX request carrying the CSRF header.
func (b *Browser) Do(method, path string, form url.Values, htmx bool) (int, string, *http.Response) {
	b.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = b.Base + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.T.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", b.CSRF)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(raw); m != nil {
		b.CSRF = string(m[1])
	}
	return resp.StatusCode, string(raw), resp
}

// Get fetches a page.
func (b *Browser) Get(path string) (int, string) {
	b.T.Helper()
	code, body, _ := b.Do("GET", path, nil, false)
	return code, body
}

// Post submits a form with the current CSRF token.
func (b *Browser) Post(path string, form url.Values) (int, string, *http.Response) {
	b.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", b.CSRF)
	}
	return b.Do("POST", path, form, false)
}

// Login signs in with a login name and password and fails the test if that does not work.
func (b *Browser) Login(login, password string) {
	b.T.Helper()
	b.Get("/login")
	code, body, resp := b.Post("/login", url.Values{"login": {login}, "password": {password}, "next": {"/pay"}})
	if code != http.StatusSeeOther {
		b.T.Fatalf("login %s: status %d, want 303\n%s", login, code, body)
	}
	_ = resp
}
