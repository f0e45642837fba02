// Package metrics holds the platform's Prometheus collectors and the small functions the
// rest of the code calls to count (one line at each place that counts). It imports nothing
// of the platform, so any package may use it.
//
// No label carries anything personal: routes are patterns (/pay/orders/:no, never an order
// number), channels, outcomes, reasons and job names come from fixed sets.
package metrics

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campuspay_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "campuspay_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method"})
	payments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campuspay_payments_total",
		Help: "Trades applied by channel, way (notify, query, direct, recon) and outcome (applied, late, duplicate, rejected).",
	}, []string{"channel", "way", "outcome"})
	notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campuspay_notifications_total",
		Help: "Channel notifications by channel, outcome (applied, duplicate, rejected) and reason of a rejection.",
	}, []string{"channel", "outcome", "reason"})
	jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campuspay_job_runs_total", Help: "Background job runs on this instance.",
	}, []string{"job"})
	jobFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campuspay_job_failures_total", Help: "Background job runs that ended in an error.",
	}, []string{"job"})
	jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "campuspay_job_duration_seconds", Help: "Background job run time.",
		Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300},
	}, []string{"job"})
	jobLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "campuspay_job_last_success_timestamp_seconds", Help: "When a run of the job last ended without error on this instance.",
	}, []string{"job"})
	leaseHeld = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "campuspay_job_lease_held", Help: "1 while this instance holds the lease (and so runs the jobs), else 0.",
	}, []string{"lease", "holder"})
	ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "campuspay_ready", Help: "1 while /readyz answers 200.",
	})
)

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(httpRequests, httpDuration, payments, notifications,
		jobRuns, jobFailures, jobDuration, jobLastSuccess, leaseHeld, ready,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(), &stateCollector{})
	return r
}

// buildInfo is campuspay_build_info{version, revision, go_version} = 1.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "campuspay_build_info", Help: "The running build: version, VCS revision and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "go_version": goVersion},
	})
	g.Set(1)
	return g
}

// HTTP counts one answered request. route is the pattern the router matched.
func HTTP(route, method string, status int, d time.Duration) {
	httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Payment counts a trade the core tried to apply.
func Payment(channel, way, outcome string) {
	payments.WithLabelValues(channel, way, outcome).Inc()
}

// Notification counts a channel's notification; reason is empty unless it was rejected.
func Notification(channel, outcome, reason string) {
	notifications.WithLabelValues(channel, outcome, reason).Inc()
}

// JobRun counts one run of a job, how long it took, and whether it failed.
func JobRun(job string, d time.Duration, failed bool) {
	jobRuns.WithLabelValues(job).Inc()
	jobDuration.WithLabelValues(job).Observe(d.Seconds())
	if failed {
		jobFailures.WithLabelValues(job).Inc()
	} else {
		jobLastSuccess.WithLabelValues(job).SetToCurrentTime()
	}
}

// Lease records whether this instance (holder: its random lease owner id) holds a lease.
func Lease(lease, holder string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	leaseHeld.WithLabelValues(lease, holder).Set(v)
}

// Ready records what /readyz answers.
func Ready(ok bool) {
	if ok {
		ready.Set(1)
	} else {
		ready.Set(0)
	}
}

// DB adds the connection pools' figures (open, in use, idle, waits): the platform's, as
// db_name "campuspay", and the payers' page's own when there is one, as "campuspay_page".
func DB(db, page *sql.DB) {
	dbOnce.Do(func() {
		Registry.MustRegister(collectors.NewDBStatsCollector(db, "campuspay"))
		if page != nil {
			Registry.MustRegister(collectors.NewDBStatsCollector(page, "campuspay_page"))
		}
	})
}

var dbOnce sync.Once

// State is what the database says at the moment of a scrape: figures that are rows, not
// events, and so the same whichever instance is asked.
type State struct {
	OutboxPending     int64            // callbacks not yet delivered (pending)
	OutboxOldestAge   time.Duration    // age of the oldest of them; 0 when there is none
	OutboxFailed      int64            // callbacks given up on (finance may resend)
	Refunds           map[string]int64 // refunds by state
	DiscrepanciesOpen int64            // reconciliation discrepancies still open
}

var (
	stateMu  sync.Mutex
	stateFn  func(ctx context.Context) (State, error)
	stateErr = prometheus.NewDesc("campuspay_state_scrape_error", "1 when reading the database figures failed.", nil, nil)
	descs    = map[string]*prometheus.Desc{
		"pending": prometheus.NewDesc("campuspay_outbox_pending", "Callbacks to business systems not yet delivered.", nil, nil),
		"age":     prometheus.NewDesc("campuspay_outbox_oldest_age_seconds", "Age of the oldest undelivered callback.", nil, nil),
		"failed":  prometheus.NewDesc("campuspay_outbox_failed", "Callbacks given up on after every retry.", nil, nil),
		"refunds": prometheus.NewDesc("campuspay_refunds", "Refunds by state.", []string{"state"}, nil),
		"disc":    prometheus.NewDesc("campuspay_recon_discrepancies_open", "Reconciliation discrepancies still open.", nil, nil),
	}
)

// SetState names the function that reads the database figures at each scrape.
func SetState(fn func(ctx context.Context) (State, error)) {
	stateMu.Lock()
	stateFn = fn
	stateMu.Unlock()
}

type stateCollector struct{}

func (*stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateErr
	for _, d := range descs {
		ch <- d
	}
}

func (*stateCollector) Collect(ch chan<- prometheus.Metric) {
	stateMu.Lock()
	fn := stateFn
	stateMu.Unlock()
	if fn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := fn(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(stateErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(stateErr, prometheus.GaugeValue, 0)
	ch <- prometheus.MustNewConstMetric(descs["pending"], prometheus.GaugeValue, float64(st.OutboxPending))
	ch <- prometheus.MustNewConstMetric(descs["age"], prometheus.GaugeValue, st.OutboxOldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(descs["failed"], prometheus.GaugeValue, float64(st.OutboxFailed))
	for state, n := range st.Refunds {
		ch <- prometheus.MustNewConstMetric(descs["refunds"], prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(descs["disc"], prometheus.GaugeValue, float64(st.DiscrepanciesOpen))
}

// Handler serves the metrics. With a token, a request must carry
// "Authorization: Bearer <token>"; without one, the handler serves anyone who reaches it
// (use it only on a listener of its own, bound to an address the monitoring reaches).
func Handler(token string) http.Handler {
	h := promhttp.HandlerFor(Registry, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !TokenOK(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TokenOK reports whether an Authorization header carries the bearer token, comparing in
// constant time.
func TokenOK(authorization, token string) bool {
	got, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// Registry is where every collector of the platform lives (declared last: it registers the collectors above; not the global default, so
// that a library registering its own cannot clash with ours).
var Registry = newRegistry()
