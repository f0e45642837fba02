// Package server wires the platform together: configuration, database, services, the
// simulated outside world, the web features, and the jobs. main and the end-to-end tests
// both build the whole platform through New.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/uptrace/bun"

	"campuspay/app/api"
	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/cashier"
	"campuspay/app/catalog"
	"campuspay/app/channel"
	cardchannel "campuspay/app/channel/campuscard"
	sandboxchannel "campuspay/app/channel/sandbox"
	"campuspay/app/clients"
	"campuspay/app/console"
	"campuspay/app/demo"
	"campuspay/app/egress"
	"campuspay/app/imports"
	"campuspay/app/merchants"
	"campuspay/app/notify"
	"campuspay/app/recon"
	"campuspay/app/reports"
	"campuspay/app/roster"
	"campuspay/app/settings"
	banksim "campuspay/app/sim/bank"
	cardsim "campuspay/app/sim/campuscard"
	sandboxsim "campuspay/app/sim/sandbox"
	"campuspay/app/sim/simdb"
	"campuspay/app/web"
	"campuspay/jobs"
	"campuspay/static"
	"campuspay/store"
)

// Config is everything the platform is told at start.
type Config struct {
	Addr    string // listen address, e.g. ":8080"
	DSN     string // MySQL DSN; empty: the embedded SQLite under DataDir
	DataDir string
	BaseURL string // public URL: QR codes, channel notify and return addresses
	Secret  string // master secret (hex or any string); empty: data/secret.key, made on first start
	Demo    bool   // load demo data into an empty database
	Jobs    bool   // run background jobs
	// ProxyHeader names the header carrying the client address behind a reverse proxy
	// (e.g. X-Forwarded-For); empty: the connection's address.
	ProxyHeader    string
	SessionTimeout time.Duration
	// ShutdownGrace is how long a shutdown waits for requests in flight (default 10 s).
	// A connection a client opened but never used counts as in flight until then.
	ShutdownGrace time.Duration
	Log           *slog.Logger
	// Simulators serves the simulated payment company, campus card system and bank under
	// /sim/ and lets their channels take (play) money, on a database the demo did not load.
	// On a demo database they are always on; otherwise /sim/ answers 404.
	Simulators bool
	// Channels are payment channel adapters besides the built-in ones (a test's fake
	// payment company).
	Channels map[string]channel.Channel
	// Operations (ops.go): /metrics needs MetricsToken as a bearer token, or is served
	// on MetricsAddr alone; DrainDelay is how long an instance told to stop keeps serving
	// while unready, so that its load balancer takes it out first.
	MetricsToken, MetricsAddr string
	DrainDelay                time.Duration
}

// Server is the assembled platform.
type Server struct {
	App        *fiber.App
	DB         *bun.DB
	Billing    *billing.Service
	Reports    *reports.Service
	Catalog    *catalog.Service
	Bills      *bills.Service
	Clients    *clients.Service
	Roster     *roster.Service
	Imports    *imports.Runner
	Auth       *auth.Service
	Settings   *settings.Store
	Egress     *egress.Guard // every server-side request's connections
	Sandbox    *sandboxsim.Sim
	Card       *cardsim.Sim
	Bank       *banksim.Sim
	Recon      *recon.Service
	Merchants  *merchants.Service // the payment companies' drivers, the merchants' accounts
	Scheduler  *jobs.Scheduler
	Config     Config
	DemoLoaded bool
	// Simulators: /sim/ is served and the simulator channels may take payments (a demo
	// database, or Config.Simulators).
	Simulators bool
	// Secrets seals the settings' secrets (what the console's settings page uses).
	Secrets auth.Box
	ops     ops
	sims    companySims
}

// PublicBase checks the platform's public address (-base-url), from which QR codes, pay
// links, receipts' verification addresses and the channels' notify and return addresses are
// made: an absolute http or https URL with a host and nothing after its path. A typo here
// would print QR codes that lead nowhere and register notify addresses no company can reach,
// so the platform refuses to start rather than find out at the first payment. It returns the
// address without a trailing slash, as every caller appends a path that starts with one.
func PublicBase(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", fmt.Errorf("base URL %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base URL %q: must start with http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("base URL %q: has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return "", fmt.Errorf("base URL %q: must be scheme, host, port and path only", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// New opens and migrates the database, loads demo data when asked and the database is
// new, and builds the app.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 2 * time.Hour
	}
	base, err := PublicBase(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = base
	db, err := store.Open(cfg.DSN, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	master, err := masterSecret(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{DB: db, Config: cfg, Settings: settings.New(db)}
	s.Egress = &egress.Guard{AllowList: func(ctx context.Context) string { return s.Settings.Get(ctx, settings.EgressAllow) }}
	// The simulators are reached at the platform's own address, which -base-url names: the
	// clients for them trust that host:port whatever the allow-list says.
	self := egress.HostPortOf(cfg.BaseURL)
	simClient := func(timeout time.Duration) *http.Client {
		return s.Egress.Client(egress.Options{Timeout: timeout, Trust: []string{self}})
	}
	sandboxKey := derive(master, "sandbox-merchant")
	cardKey := derive(master, "campuscard")
	s.Sandbox = &sandboxsim.Sim{DB: db, PublicURL: cfg.BaseURL + "/sim/sandbox",
		Key: func(m string) (string, bool) { return sandboxKey, m == "campuspay" }}
	s.Card = &cardsim.Sim{DB: db, Key: cardKey}
	s.Billing = &billing.Service{
		DB: db, Settings: s.Settings, Log: cfg.Log,
		Channels:  map[string]channel.Channel{}, // below, once it is known whether simulators are on
		NotifyURL: func(ch string) string { return cfg.BaseURL + "/notify/" + ch },
		ReturnURL: func(no string) string { return cfg.BaseURL + "/pay/return/" + no },
	}
	s.Bills = &bills.Service{DB: db, Billing: s.Billing, Log: cfg.Log}
	s.Secrets = auth.Box{Key: []byte(derive(master, "secrets"))}
	s.Merchants = s.newMerchants(simClient(20 * time.Second))
	s.Billing.Merchants = s.Merchants
	s.Clients = &clients.Service{DB: db, Bills: s.Bills, Settings: s.Settings, Log: cfg.Log, Egress: s.Egress, Secrets: s.Secrets}
	s.Billing.BillLink = cashier.BillLink(cfg.BaseURL, auth.Signer{Key: []byte(derive(master, "links"))})
	s.Catalog = &catalog.Service{DB: db}
	s.Roster = &roster.Service{DB: db, Log: cfg.Log}
	s.Imports = &imports.Runner{DB: db, Log: cfg.Log}
	s.Reports = &reports.Service{DB: db, Channels: s.Billing.Channels, Log: cfg.Log}
	s.Auth = &auth.Service{DB: db}
	bankKey := derive(master, "bank")
	s.Bank = &banksim.Sim{DB: db, Account: "6222000000000001", Key: bankKey, SandboxMerchant: "campuspay"}
	s.Recon = &recon.Service{Billing: s.Billing, Log: cfg.Log}

	// A database the demo loaded is marked: its simulators run whatever the flags say.
	isDemo, err := demo.Marked(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The simulators' tables are not in the schema: made only where the simulators run,
	// before demo data fills the card system's accounts.
	if cfg.Demo || cfg.Simulators || isDemo {
		if err := simdb.Migrate(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
	}
	if cfg.Demo {
		loaded, err := demo.Loaded(ctx, db)
		if err != nil {
			db.Close()
			return nil, err
		}
		if !loaded {
			if err := demo.Load(ctx, db, s.Card, time.Now()); err != nil {
				db.Close()
				return nil, err
			}
			if err := demo.LoadClients(ctx, s.Clients); err != nil {
				db.Close()
				return nil, err
			}
			s.DemoLoaded = true
			isDemo = true // Load wrote the marker
		}
	}
	s.Simulators = cfg.Simulators || isDemo
	s.Settings.Simulators = s.Simulators
	// The card system's configured endpoint goes through the same guard: an internal
	// address needs the allow-list; the platform's own address (the simulator) is trusted.
	card := cardchannel.Config{Endpoint: s.cardEndpoint(s.Secrets), Client: simClient(15 * time.Second)}
	if s.Simulators {
		s.Billing.Channels["sandbox"] = sandboxchannel.New(sandboxchannel.Config{GatewayURL: cfg.BaseURL + "/sim/sandbox", Merchant: "campuspay", Key: sandboxKey, Client: simClient(10 * time.Second)})
		card.BaseURL, card.Key = cfg.BaseURL+"/sim/card", cardKey
		s.Recon.Bank = &recon.BankClient{BaseURL: cfg.BaseURL + "/sim/bank", Account: "6222000000000001", Key: bankKey, HTTP: simClient(60 * time.Second)}
	}
	s.Billing.Channels["campuscard"] = cardchannel.New(card)
	if s.Simulators {
		if err := s.startCompanySims(ctx, simClient(10*time.Second)); err != nil {
			db.Close()
			return nil, err
		}
	}
	for name, ch := range cfg.Channels {
		s.Billing.Channels[name] = ch
	}
	s.logChannels(ctx, isDemo)
	s.App = s.newApp(derive(master, "links"), derive(master, "secrets"), derive(master, "csrf"))
	if cfg.Jobs {
		s.Scheduler, err = jobs.NewScheduler(db, cfg.Log, []jobs.Job{
			{Name: "expire-orders", Every: 30 * time.Second, Run: jobs.ExpireOrders(s.Billing, cfg.Log)},
			{Name: "query-open-orders", Every: 30 * time.Second, Run: jobs.QueryOpenOrders(s.Billing, cfg.Log)},
			{Name: "purge-sessions", Every: time.Hour, Run: jobs.PurgeSessions(s.Billing, cfg.Log)},
			{Name: "deliver-callbacks", Every: 5 * time.Second, Run: jobs.DeliverCallbacks(s.Clients, cfg.Log)},
			{Name: "purge-nonces", Every: 5 * time.Minute, Run: jobs.PurgeNonces(s.Billing, cfg.Log)},
			{Name: "sync-refunds", Every: time.Minute, Run: jobs.SyncRefunds(s.Billing, cfg.Log)},
			{Name: "snapshot-stats", Every: 10 * time.Minute, Run: jobs.SnapshotStats(s.Reports, cfg.Log)},
			{Name: "fold-item-totals", Every: 5 * time.Second, Run: jobs.FoldItemTotals(s.Reports, cfg.Log)},
			{Name: "number-receipts", Every: 10 * time.Second, Run: jobs.NumberReceipts(s.Billing, cfg.Log)},
			{Name: "import-inbox", Every: 30 * time.Second, Run: jobs.ImportInbox(s.Clients, cfg.Log)},
			{Name: "reconcile", Every: 5 * time.Minute, Run: jobs.Reconcile(s.Recon, cfg.Log)},
		})
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	if s.Billing.PageDB, err = store.OpenPagePool(cfg.DSN); err != nil {
		if s.Scheduler != nil {
			s.Scheduler.Stop()
		}
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) newApp(linkKey, secretsKey, csrfKey string) *fiber.App {
	engine := web.NewEngine()
	renderer := &web.Renderer{Engine: engine, School: func(c *fiber.Ctx) string {
		return s.Settings.Get(c.UserContext(), settings.SchoolName)
	}, Simulators: s.Simulators}
	app := fiber.New(fiber.Config{
		Views:                 engine,
		ErrorHandler:          renderer.ErrorHandler(s.Config.Log),
		DisableStartupMessage: true,
		BodyLimit:             MaxBody,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ProxyHeader:           s.Config.ProxyHeader,
		// Values read from a request (params, headers, form fields) stay valid after it:
		// without this, fasthttp reuses their bytes for the next request, and a value kept
		// by an import job or a log line would silently change.
		Immutable: true,
	})
	readLimits(app)
	app.Use(s.observe)
	app.Use(recover.New())
	app.Use(bodyLimit)
	app.Use(s.securityHeaders)
	app.All("/static/*", web.Static(static.Default()))
	app.Get("/healthz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
		defer cancel()
		if err := s.DB.PingContext(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
		}
		return c.SendString("ok")
	})
	s.opsRoutes(app)
	if s.Simulators {
		s.Sandbox.Routes(app.Group("/sim/sandbox"))
		s.Card.Routes(app.Group("/sim/card"))
		s.Bank.Routes(app.Group("/sim/bank"))
		s.companySimRoutes(app)
	}

	(&notify.Handler{Billing: s.Billing}).Routes(app) // the payment companies' door: before any page's middleware

	// The CSRF key is derived from the master secret, which every instance shares: a
	// visitor's form rendered by one instance is accepted by any other.
	sessions := auth.NewSessions(s.DB, strings.HasPrefix(s.Config.BaseURL, "https://"), s.Config.SessionTimeout, []byte(csrfKey))
	ch := &cashier.Handler{
		Billing: s.Billing, Auth: s.Auth, Render: renderer, Signer: auth.Signer{Key: []byte(linkKey)},
		BaseURL: s.Config.BaseURL, Log: s.Config.Log, Sessions: sessions.Middleware(), SessionStore: sessions, Egress: s.Egress, Secrets: auth.Box{Key: []byte(secretsKey)},
		StatusWait: statusWait,
	}
	ch.Routes(app)
	con := &console.Handler{
		Billing: s.Billing, Catalog: s.Catalog, Bills: s.Bills, Clients: s.Clients, Roster: s.Roster, Imports: s.Imports, Reports: s.Reports, Recon: s.Recon, Auth: s.Auth, Settings: s.Settings, Render: renderer,
		Secrets: auth.Box{Key: []byte(secretsKey)}, BaseURL: s.Config.BaseURL, Log: s.Config.Log,
		Sessions: sessions.Middleware(), Merchants: s.Merchants,
	}
	con.Routes(app)
	ah := &api.Handler{Billing: s.Billing, Bills: s.Bills, Clients: s.Clients, Roster: s.Roster, Log: s.Config.Log, Render: renderer}
	ah.Routes(app)
	ah.SOAPRoutes(app)
	return app
}

// statusWait is how long a payer's poll of an open order's status block waits for its
// payment (cashier.Handler.StatusWait): under the block's polling interval of 2 s, so that
// a poll has answered before the next is due.
const statusWait = 1500 * time.Millisecond

// securityHeaders keeps pages from being framed, sniffed, made to run outside script, or
// to post forms anywhere but here and the live channels' own pages. The simulators are
// "another company" with pages of their own and are left alone.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	if s.Simulators && strings.HasPrefix(c.Path(), "/sim/") {
		return c.Next()
	}
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", contentSecurityPolicy(s.formOrigins(c.UserContext())))
	return c.Next()
}

// contentSecurityPolicy is the policy of every page; formOrigins are the origins, besides
// our own, that a form may post to or a form's answer may redirect to.
func contentSecurityPolicy(formOrigins []string) string {
	formAction := "'self'"
	for _, o := range formOrigins {
		formAction += " " + o
	}
	return "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'self'; form-action " +
		formAction + "; frame-ancestors 'none'"
}

// formOrigins are the origins of the live channels' pages that are not our own.
func (s *Server) formOrigins(ctx context.Context) []string {
	self := origin(s.Config.BaseURL)
	var out []string
	for _, raw := range s.Billing.FormOrigins(ctx) {
		if o := origin(raw); o != "" && o != self && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// origin is scheme://host[:port] of an absolute http(s) URL, from its parsed form; "" for
// anything else.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'\"") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// cardEndpoint is the campus card adapter's view of its settings: the card system's
// address and key as configured in the console, when an address is.
func (s *Server) cardEndpoint(box auth.Box) func(ctx context.Context) (string, string, bool) {
	return func(ctx context.Context) (string, string, bool) {
		endpoint := s.Settings.Get(ctx, settings.CampusCardEndpoint)
		if endpoint == "" {
			return "", "", false
		}
		key, err := s.Settings.Secret(ctx, settings.CampusCardKey, box)
		if err != nil {
			s.Config.Log.Error("campus card key", "err", err)
			key = ""
		}
		return endpoint, key, true
	}
}

// logChannels says at start which channels take payments and whether simulators are on.
func (s *Server) logChannels(ctx context.Context, isDemo bool) {
	live := s.Billing.LiveChannels(ctx)
	s.Config.Log.Info("payment channels", "live", strings.Join(live, ","), "simulators", s.Simulators)
	if s.Simulators {
		why := "-simulators"
		if isDemo {
			why = "demo database"
		}
		s.Config.Log.Warn("simulators on: payments are simulated, no real money is collected", "why", why, "paths", "/sim/sandbox,/sim/card,/sim/bank,/sim/alipay,/sim/wechatpay,/sim/unionpay")
	}
	for _, name := range s.Settings.List(ctx, settings.ChannelsEnabled) {
		if !slices.Contains(live, name) {
			s.Config.Log.Warn("channel enabled in settings but not live", "channel", name,
				"why", "a simulator without -simulators, or not configured (campus card: campuscard.endpoint and key)")
		}
	}
	if len(live) == 0 {
		s.Config.Log.Warn("no payment channel is live: payers cannot pay online")
	}
}

// Serve runs the app on ln and the jobs, until ctx ends; then it shuts down in order.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ln = &onceListener{Listener: ln}
	if err := s.startOps(); err != nil {
		s.Close()
		return err
	}
	if s.Scheduler != nil {
		s.Scheduler.Start()
	}
	errc := make(chan error, 1)
	go func() { errc <- s.App.Listener(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.drain(ln)
	grace := s.Config.ShutdownGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.App.ShutdownWithContext(shutdownCtx)
	s.Close()
	return err
}

// Close stops the jobs and the simulators and closes the database.
func (s *Server) Close() {
	if s.Scheduler != nil {
		s.Scheduler.Stop()
	}
	s.Sandbox.Close()
	s.sims.close()
	s.stopOps()
	// Receipts paid for in the last moments get their numbers before the database closes;
	// should that fail, another instance's number-receipts job numbers them.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := s.Billing.NumberReceipts(ctx); err != nil {
		s.Config.Log.Warn("receipts left for the numbering sweep", "err", err)
	}
	cancel()
	if s.Billing.PageDB != nil {
		s.Billing.PageDB.Close()
	}
	s.DB.Close()
}

// masterSecret returns the secret every other key is derived from: CAMPUSPAY_SECRET, or
// the file secret.key in the data folder, made (random, 0600) on first start. Several
// instances must share it: set the variable for them.
func masterSecret(cfg Config) (string, error) {
	if cfg.Secret != "" {
		if len(cfg.Secret) < 32 {
			return "", errors.New("server: the secret must be at least 32 characters")
		}
		return cfg.Secret, nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("server: data folder: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server: write secret: %w", err)
	}
	return secret, nil
}

// derive makes a key for one purpose from the master secret.
func derive(master, purpose string) string {
	m := hmac.New(sha256.New, []byte(master))
	m.Write([]byte("campuspay:" + purpose))
	return hex.EncodeToString(m.Sum(nil))
}
