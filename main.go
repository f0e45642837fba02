// Command campuspay is the university's unified payment platform (统一支付平台).
//
//	campuspay [serve] [flags]   run the platform (the default)
//	campuspay migrate [flags]   apply the schema and exit
//	campuspay backup [flags] FILE   copy the embedded SQLite database while it runs
//	campuspay rush [flags]   the term-start rush against a running platform (app/rush)
//	campuspay ceiling        a bare Fiber handler serving a fixed 8 KiB page, the bills page's yardstick
//
// Configuration comes from flags, each with an environment variable:
// CAMPUSPAY_ADDR, CAMPUSPAY_DB, CAMPUSPAY_DATA, CAMPUSPAY_BASE_URL, CAMPUSPAY_SECRET,
// CAMPUSPAY_PROXY_HEADER, CAMPUSPAY_SIMULATORS, CAMPUSPAY_LOG_FORMAT, CAMPUSPAY_METRICS_ADDR,
// CAMPUSPAY_DRAIN; CAMPUSPAY_METRICS_TOKEN (environment only: a flag would show in the process list).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	_ "time/tzdata" // business days are Asia/Shanghai even where the system has no zone files

	"campuspay/app/demo"
	"campuspay/app/reqlog"
	"campuspay/app/rush"
	"campuspay/app/server"
	"campuspay/store"
)

// memoryLimit is the Go runtime's soft memory limit while serving, unless the environment
// sets GOMEMLIMIT (a size, or off). Issue 13 bounds the platform at 150 MB resident under
// load: 500 payers in flight on the embedded database peaked at 164 MiB without a limit,
// and at 135 MiB, 5 % slower, with this one (docs/PERFORMANCE.md). The collector works
// harder as the Go heap nears it and never stops the program at it: a 100,000-row import,
// whose rows are all held until every one is checked, goes over and is only slower.
const memoryLimit = 100 << 20

// gcPercent is the collector's GOGC while serving, unless the environment sets GOGC. At
// Go's 100 the collector ran several times a second under the payers' page load, a
// fourteenth of the platform's CPU; at 200 it runs half as often, and memoryLimit still
// holds the heap down when it grows. Measured on the 2-core machine (docs/PERFORMANCE.md,
// 6 December 2026): the payers' page 8 % faster at the same p99.
const gcPercent = 200

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], log); err != nil {
		log.Error("campuspay", "err", err)
		os.Exit(1)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// envBool reads a true/false environment variable; unset is false.
func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

func run(args []string, log *slog.Logger) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "rush" { // a load scenario against a running platform, with flags of its own
		return rush.Main(args)
	}
	if cmd == "ceiling" { // the bare page the bills page is measured against
		return rush.CeilingMain(args)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	addr := fs.String("addr", env("CAMPUSPAY_ADDR", ":8080"), "listen address")
	dsn := fs.String("db", env("CAMPUSPAY_DB", ""), "MySQL DSN, e.g. user:pass@tcp(127.0.0.1:3306)/campuspay; empty: embedded SQLite")
	data := fs.String("data", env("CAMPUSPAY_DATA", "./data"), "data folder (SQLite file, secret key)")
	baseURL := fs.String("base-url", env("CAMPUSPAY_BASE_URL", ""), "public URL used in QR codes and channel callbacks (default http://127.0.0.1<addr>)")
	secret := fs.String("secret", env("CAMPUSPAY_SECRET", ""), "master secret, ≥ 32 characters (default: data/secret.key, made on first start)")
	proxy := fs.String("proxy-header", env("CAMPUSPAY_PROXY_HEADER", ""), "header with the client address behind a reverse proxy, e.g. X-Forwarded-For")
	withDemo := fs.Bool("demo", true, "load demo data into a new database (on MySQL only when given explicitly)")
	simsDefault, err := envBool("CAMPUSPAY_SIMULATORS")
	if err != nil {
		return err
	}
	sims := fs.Bool("simulators", simsDefault, "serve the simulated payment company, campus card and bank under /sim/ (play money) on a database the demo did not load")
	logFormat := fs.String("log-format", env("CAMPUSPAY_LOG_FORMAT", "text"), "log format: text or json")
	metricsAddr := fs.String("metrics-addr", env("CAMPUSPAY_METRICS_ADDR", ""), "serve /metrics on this address of its own, e.g. 127.0.0.1:9090")
	drain := fs.Duration("drain", envDuration("CAMPUSPAY_DRAIN", 0), "on SIGTERM, keep serving this long while /readyz says no (behind a load balancer: e.g. 5s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *logFormat != "text" && *logFormat != "json" {
		return fmt.Errorf("-log-format %q: want text or json", *logFormat)
	}
	log = reqlog.NewLogger(os.Stderr, *logFormat, nil)
	slog.SetDefault(log)
	demoAsked := false
	fs.Visit(func(f *flag.Flag) { demoAsked = demoAsked || f.Name == "demo" })

	switch cmd {
	case "migrate":
		db, err := store.Open(*dsn, *data)
		if err != nil {
			return err
		}
		defer db.Close()
		ran, err := store.Migrate(context.Background(), db)
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migration(s) %v\n", len(ran), ran)
		return nil
	case "backup":
		return backup(fs.Args(), *dsn, *data)
	case "serve":
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate or backup)", cmd)
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		port := ln.Addr().(*net.TCPAddr).Port
		*baseURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, server.Config{
		Addr: *addr, DSN: *dsn, DataDir: *data, BaseURL: *baseURL, Secret: *secret,
		Demo: *withDemo && (*dsn == "" || demoAsked), Jobs: true, ProxyHeader: *proxy, Log: log,
		Simulators:   *sims,
		MetricsToken: os.Getenv("CAMPUSPAY_METRICS_TOKEN"), MetricsAddr: *metricsAddr, DrainDelay: *drain,
	})
	if err != nil {
		ln.Close()
		return err
	}
	banner(srv, *dsn == "")
	return srv.Serve(ctx, ln)
}

func banner(srv *server.Server, embedded bool) {
	where := "MySQL"
	if embedded {
		where = "SQLite " + srv.Config.DataDir + "/campuspay.db"
	}
	fmt.Printf("CampusPay 统一支付平台 listening on %s (database: %s)\n", srv.Config.BaseURL, where)
	fmt.Printf("  cashier: %s/pay    open item poster: %s/i/DONATE-2026/poster\n", srv.Config.BaseURL, srv.Config.BaseURL)
	if srv.Simulators {
		fmt.Println("  SIMULATORS ON (演示模式：模拟支付，不产生真实收款): /sim/sandbox, /sim/card, /sim/bank, /sim/alipay, /sim/wechatpay, /sim/unionpay")
	}
	live := srv.Billing.LiveChannels(context.Background())
	if len(live) == 0 {
		live = []string{"none"}
	}
	fmt.Printf("  live payment channels: %s\n", strings.Join(live, ", "))
	if srv.DemoLoaded {
		fmt.Println("  demo data loaded. Demo logins (login / password):")
		for _, l := range demo.Logins {
			fmt.Printf("    %-12s %-15s %s\n", l.Login, l.Password, l.Role)
		}
	}
}
