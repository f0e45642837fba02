package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/api/client"
	"campuspay/app/auth"
	"campuspay/app/clients"
	"campuspay/app/egress"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkCallbackDelivery queues 5,000 callbacks for one business system whose callback
// URL is a local receiver that verifies every signature (client.VerifyCallback) and
// deduplicates on event_id, then runs DeliverEvents (200 at a time, as the job does) until
// the queue is drained, and reports events/s. Receivers: "instant" answers at once;
// "slow50ms" takes 50 ms a request, which shows what DeliverEvents' eight workers are
// worth. The client is DeliverEvents' own (guarded by egress, 16 idle connections per
// host; the receiver's loopback address is on its allow-list). SQLite always, MariaDB
// when CAMPUSPAY_TEST_MYSQL is set. Run with
//
//	CAMPUSPAY_BENCH_CALLBACKS=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/clients/ -run '^$' -bench BenchmarkCallbackDelivery -benchtime 1x
//
// CAMPUSPAY_BENCH_CALLBACKS_N changes the number of callbacks.
func BenchmarkCallbackDelivery(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_CALLBACKS") != "1" {
		b.Skip("set CAMPUSPAY_BENCH_CALLBACKS=1 to run the callback delivery benchmark")
	}
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("CAMPUSPAY_BENCH_CALLBACKS_N")); err == nil && v > 0 {
		n = v
	}
	dbs := []struct {
		name string
		open func(testing.TB) *bun.DB
	}{{"sqlite", storetest.SQLite}}
	if os.Getenv(storetest.EnvMySQL) != "" {
		dbs = append(dbs, struct {
			name string
			open func(testing.TB) *bun.DB
		}{"mysql", storetest.MySQL})
	}
	for _, d := range dbs {
		for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
			recvName := "instant"
			if delay > 0 {
				recvName = "slow50ms"
			}
			b.Run(d.name+"/"+recvName, func(b *testing.B) {
				benchDeliver(b, d.open(b), n, delay)
			})
		}
	}
}

// callbackReceiver is the business system: it verifies, deduplicates and counts.
type callbackReceiver struct {
	verifier *client.Client
	delay    time.Duration

	mu    sync.Mutex
	calls int
	bad   int
	seen  map[string]bool
	conns map[string]bool // remote addresses: how many TCP connections the platform opened
}

func (r *callbackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	err := r.verifier.VerifyCallback(req, body)
	var ev struct {
		EventID string `json:"event_id"`
	}
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	r.mu.Lock()
	r.calls++
	r.conns[req.RemoteAddr] = true
	if err != nil {
		r.bad++
	} else {
		r.seen[ev.EventID] = true
	}
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func benchDeliver(b *testing.B, db *bun.DB, n int, delay time.Duration) {
	ctx := context.Background()
	recv := &callbackReceiver{delay: delay}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	svc := &clients.Service{DB: db, Secrets: auth.Box{Key: []byte("bench")}, Egress: allowing(egress.HostPortOf(srv.URL))}
	_, secret, err := svc.CreateClient(ctx, clients.ClientInput{AppID: "bench-admissions", Name: "压测招生系统", CallbackURL: srv.URL + "/campuspay/callback"}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	recv.verifier = client.New(srv.URL, "bench-admissions", secret)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		recv.calls, recv.bad, recv.seen, recv.conns = 0, 0, map[string]bool{}, map[string]bool{}
		queueBenchEvents(b, db, i, n)
		b.StartTimer()

		start := time.Now()
		delivered, runs := 0, 0
		for {
			d, failed, err := svc.DeliverEvents(ctx, 200)
			if err != nil {
				b.Fatal(err)
			}
			if failed > 0 {
				b.Fatalf("%d callbacks gave up", failed)
			}
			delivered += d
			runs++
			if d == 0 {
				break
			}
		}
		elapsed := time.Since(start)

		b.StopTimer()
		if delivered != n || len(recv.seen) != n || recv.bad != 0 {
			b.Fatalf("delivered %d, receiver saw %d distinct (%d calls, %d failed verification); want %d", delivered, len(recv.seen), recv.calls, recv.bad, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(len(recv.conns)), "conns")
		b.Logf("%d callbacks in %v (%d DeliverEvents runs, %d TCP connections)", n, elapsed.Round(time.Millisecond), runs, len(recv.conns))
		b.StartTimer()
	}
}

// queueBenchEvents writes n pending callbacks due now, each with a payload shaped like a
// bill.paid event (about 900 bytes), in batches.
func queueBenchEvents(b *testing.B, db *bun.DB, round, n int) {
	ctx := context.Background()
	now := store.UTC(time.Now().Add(-time.Second))
	batch := make([]store.Event, 0, 500)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("evt_bench%d_%07d", round, i)
		payload, _ := json.Marshal(map[string]any{
			"event_id": id, "type": "bill.paid", "created_at": now.Format(time.RFC3339),
			"data": map[string]any{"bill": map[string]any{
				"bill_no": fmt.Sprintf("ADM-2026-%06d", i), "item_code": "ADM-FEE-2026",
				"payer":  map[string]any{"type": "internal", "id": fmt.Sprintf("2026%06d", i), "name": "张三"},
				"amount": 50000, "amount_paid": 50000, "amount_refunded": 0, "status": "paid",
				"description": "2026 级报名费", "due_date": "2026-12-31",
				"created_at": now.Format(time.RFC3339), "paid_at": now.Format(time.RFC3339),
				"payments": []map[string]any{{"order_no": fmt.Sprintf("P20261127%011d", i), "channel": "sandbox", "amount": 50000, "paid_at": now.Format(time.RFC3339)}},
				"refunds":  []any{},
			}},
		})
		batch = append(batch, store.Event{EventID: id, Client: "bench-admissions", Type: "bill.paid", Payload: string(payload),
			Status: clients.EventPending, NextAt: now, CreatedAt: now})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := db.NewInsert().Model(&batch).Exec(ctx); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
