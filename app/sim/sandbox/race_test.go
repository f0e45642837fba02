package sandbox_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store/storetest"
)

// Money-moving writes are guarded updates: racing payers and refunds cannot pay twice or
// refund more than was paid.
func TestConcurrentConfirmAndRefund(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		r := newReceiver(t, 0)
		no := e.createTrade(t, "Z1", 10000, r.url(), map[string]any{"return_url": "http://127.0.0.1:1/back"})
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Go(func() {
				resp, _ := e.browser(t, "POST", "/pay/"+no+"/confirm")
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		paid := 0
		for _, s := range statuses {
			if s == 303 {
				paid++
			}
		}
		if paid != 1 {
			t.Errorf("confirm statuses = %v, want exactly one 303", statuses)
		}
		if got := r.waitFor(2, time.Second); len(got) != 1 {
			t.Errorf("%d notifications for one payment, want 1", len(got))
		}

		// Ten refunds of 2000 on 10000: five succeed. Each is also sent twice at once.
		codes := make([]int, 20)
		refundNos := make([]string, 20)
		for i := range codes {
			wg.Go(func() {
				a := e.do(t, call{method: "POST", path: "/api/refunds", body: map[string]any{
					"out_trade_no": "Z1", "out_refund_no": fmt.Sprintf("ZR%d", i/2), "amount_fen": 2000}})
				codes[i] = a.status
				refundNos[i], _ = a.json(t)["refund_no"].(string)
			})
		}
		wg.Wait()
		ok := 0
		for i := 0; i < len(codes); i += 2 {
			if codes[i] != codes[i+1] || refundNos[i] != refundNos[i+1] {
				t.Errorf("refund ZR%d sent twice: %d %q and %d %q, want the same answer", i/2, codes[i], refundNos[i], codes[i+1], refundNos[i+1])
			}
			if codes[i] == 200 {
				ok++
			}
		}
		if ok != 5 {
			t.Errorf("%d refunds of 2000 succeeded on a 10000 payment, want 5 (%v)", ok, codes)
		}
		var refunded, rows int64
		if err := db.NewRaw("SELECT refunded_fen FROM sim_sandbox_trades WHERE out_trade_no = ?", "Z1").Scan(t.Context(), &refunded); err != nil {
			t.Fatal(err)
		}
		if err := db.NewRaw("SELECT COALESCE(SUM(amount_fen), 0) FROM sim_sandbox_refunds").Scan(t.Context(), &rows); err != nil {
			t.Fatal(err)
		}
		if refunded != 10000 || rows != 10000 {
			t.Errorf("refunded_fen = %d, refunds sum to %d; want 10000 and 10000", refunded, rows)
		}
	})
}
