package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/uptrace/bun"
	"github.com/valyala/fasthttp"

	"campuspay/app/metrics"
	"campuspay/app/reqlog"
	"campuspay/store"
)

// ops is what the operators' side of an instance keeps: readiness and the metrics listener.
type ops struct {
	stopping   atomic.Bool
	metricsSrv *http.Server

	mu     sync.Mutex
	active map[net.Conn]bool // connections reading or answering a request
}

// connState follows fasthttp's connections: active from the first byte of a request
// until its answer is written.
func (o *ops) connState(c net.Conn, st fasthttp.ConnState) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active == nil {
		o.active = map[net.Conn]bool{}
	}
	if st == fasthttp.StateActive {
		o.active[c] = true
	} else {
		delete(o.active, c)
	}
}

func (o *ops) inFlight() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.active)
}

// observe is the first middleware: it gives every request an id (the proxy's X-Request-ID
// when sane, else a new one), echoes it in the answer, carries it in the request's context,
// and when the request is answered writes one access log line and counts it by route
// pattern. Errors are turned into their page here, so that the status logged and counted is
// the one the client gets.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if !reqlog.SaneID(id) {
		id = reqlog.NewID()
	}
	c.Set(fiber.HeaderXRequestID, id)
	f := reqlog.New(id)
	c.Locals(reqlog.Key, f)
	// Handlers take their context from here, never from fasthttp's RequestCtx: that one is
	// recycled for the next request on the connection, so a context derived from it and
	// still alive at shutdown would read a stranger's request (the race detector saw it).
	// This one ends with the request.
	uctx, cancel := context.WithCancel(reqlog.With(c.UserContext(), f))
	defer cancel()
	c.SetUserContext(uctx)

	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}

	route := routeOf(c)
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	metrics.HTTP(route, c.Method(), status, elapsed)
	for _, p := range c.Route().Params {
		if name, ok := loggedParams[p]; ok && route != "unmatched" {
			if name == "no" && (strings.HasPrefix(route, "/pay/orders/") || strings.HasPrefix(route, "/pay/return/")) {
				name = "order_no"
			}
			reqlog.Add(c.UserContext(), name, clip(c.Params(p)))
		}
	}
	if strings.HasPrefix(route, "/api/") || strings.HasPrefix(route, "/ws/") {
		if app := c.Get("X-App-Id"); reqlog.SaneID(app) {
			reqlog.Add(c.UserContext(), "client_id", app)
		}
	}
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return nil // probes every few seconds would drown the log
	}
	s.Config.Log.Log(c.UserContext(), levelOf(status), "http request",
		"method", c.Method(), "route", route, "status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000, "bytes", len(c.Response().Body()), "ip", c.IP())
	return nil
}

// loggedParams are the route parameters an access log line may carry (the others — signed
// link tokens, login names — stay out of the log).
var loggedParams = map[string]string{
	"no": "no", "bill_no": "bill_no", "refund_no": "refund_no", "trade_no": "trade_no",
	"out_trade_no": "order_no", "out_refund_no": "refund_no", "channel": "channel", "id": "id", "code": "code",
}

func clip(s string) string {
	if reqlog.SaneID(s) {
		return s
	}
	return "(invalid)"
}

// routeOf is the pattern the router matched, never the path itself (an order number in a
// metric label would make one series per order). A request no route matched is "unmatched".
func routeOf(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Method == "USE" || r.Path == "" || r.Path == "/" && c.Path() != "/" {
		return "unmatched"
	}
	return r.Path
}

func levelOf(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// opsRoutes adds /readyz and, when a token is configured, /metrics.
func (s *Server) opsRoutes(app *fiber.App) {
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if err := s.Ready(c.UserContext()); err != nil {
			metrics.Ready(false)
			return c.Status(fiber.StatusServiceUnavailable).SendString(err.Error())
		}
		metrics.Ready(true)
		return c.SendString("ready")
	})
	if s.Config.MetricsToken != "" {
		app.Get("/metrics", adaptor.HTTPHandler(metrics.Handler(s.Config.MetricsToken)))
	}
}

// Ready reports why the instance should not be sent traffic, or nil: it is shutting down,
// the database does not answer, or the schema lacks migrations this binary has.
func (s *Server) Ready(ctx context.Context) error {
	if s.ops.stopping.Load() {
		return errors.New("shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.DB.PingContext(ctx); err != nil {
		return errors.New("database unavailable")
	}
	pending, err := store.PendingMigrations(ctx, s.DB)
	if err != nil {
		return errors.New("database unavailable")
	}
	if len(pending) > 0 {
		return errors.New("migrations pending: " + strings.Join(pending, ", "))
	}
	return nil
}

// startOps starts the metrics listener, when one is configured, and tells the metrics
// where the database figures come from.
func (s *Server) startOps() error {
	s.App.Server().ConnState = s.ops.connState
	metrics.DB(s.DB.DB, s.Billing.PageDB)
	metrics.SetState(func(ctx context.Context) (metrics.State, error) { return dbState(ctx, s.DB, time.Now()) })
	metrics.Ready(true)
	if s.Config.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.Config.MetricsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(s.Config.MetricsToken))
	s.ops.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.ops.metricsSrv.Serve(ln)
	return nil
}

// drain turns the instance unready and, when configured, keeps serving for DrainDelay so
// that the load balancer sees /readyz fail and stops sending new requests; then it closes
// the listener and waits (at most the shutdown grace) until no request is being read or
// answered. Only then may fasthttp's Shutdown run: it cancels the context of every request
// still in flight (RequestCtx.Done is the server's), which would fail them midway.
func (s *Server) drain(ln net.Listener) {
	s.ops.stopping.Store(true)
	metrics.Ready(false)
	s.Config.Log.Info("shutting down: not ready", "drain", s.Config.DrainDelay.String())
	if s.Config.DrainDelay > 0 {
		time.Sleep(s.Config.DrainDelay)
	}
	ln.Close()
	grace := s.Config.ShutdownGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	deadline := time.Now().Add(grace)
	for s.ops.inFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s.Config.Log.Info("shutting down: requests finished", "in_flight", s.ops.inFlight())
}

func (s *Server) stopOps() {
	if s.ops.metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.ops.metricsSrv.Shutdown(ctx)
	}
}

// dbState reads the figures the metrics show as the database has them.
func dbState(ctx context.Context, db *bun.DB, now time.Time) (metrics.State, error) {
	var st metrics.State
	var oldest []time.Time
	err := db.NewSelect().Table("events").ColumnExpr("created_at").Where("status = 'pending'").
		OrderExpr("created_at").Limit(1).Scan(ctx, &oldest)
	if err != nil {
		return st, err
	}
	if len(oldest) == 1 {
		st.OutboxOldestAge = max(now.Sub(oldest[0]), 0)
	}
	var counts []struct {
		Status string `bun:"status"`
		N      int64  `bun:"n"`
	}
	if err := db.NewSelect().Table("events").ColumnExpr("status, COUNT(*) AS n").
		Where("status IN ('pending', 'failed')").GroupExpr("status").Scan(ctx, &counts); err != nil {
		return st, err
	}
	for _, c := range counts {
		if c.Status == "pending" {
			st.OutboxPending = c.N
		} else {
			st.OutboxFailed = c.N
		}
	}
	counts = counts[:0]
	if err := db.NewSelect().Table("refunds").ColumnExpr("status, COUNT(*) AS n").GroupExpr("status").Scan(ctx, &counts); err != nil {
		return st, err
	}
	st.Refunds = map[string]int64{}
	for _, c := range counts {
		st.Refunds[c.Status] = c.N
	}
	n, err := db.NewSelect().Table("discrepancies").Where("status = 'open'").Count(ctx)
	st.DiscrepanciesOpen = int64(n)
	return st, err
}

// onceListener closes its listener once; later calls succeed. drain closes the listener
// before fasthttp's Shutdown, which would otherwise stop at the second Close's error and
// neither close the idle connections nor wait.
type onceListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
