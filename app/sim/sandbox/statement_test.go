package sandbox_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store/storetest"
)

func TestStatement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.sim.SetSwitches(sandboxDrop())
		cst := time.FixedZone("CST", 8*3600)
		at := func(s string) time.Time {
			tm, err := time.ParseInLocation(time.DateTime, s, cst)
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		payAt := func(out string, amount int64, when string) string {
			e.clk.Set(at(when))
			no := e.createTrade(t, out, amount, "http://127.0.0.1:1/n", nil)
			e.pay(t, no)
			return no
		}
		before := payAt("S0", 999, "2024-08-31 23:59:59")  // the day before, in Shanghai
		first := payAt("S1", 12345, "2024-09-01 00:00:00") // 2024-08-31 16:00 UTC: still 1 September here
		second := payAt("S2", 750, "2024-09-01 13:14:15")
		e.clk.Set(at("2024-09-01 12:00:00"))
		e.createTrade(t, "S3", 5000, "http://127.0.0.1:1/n", nil) // never paid
		e.clk.Set(at("2024-09-01 18:00:00"))
		a := e.do(t, call{method: "POST", path: "/api/refunds", body: map[string]any{"out_trade_no": "S1", "out_refund_no": "RF1", "amount_fen": 2000}})
		refundNo, _ := a.json(t)["refund_no"].(string)
		e.clk.Set(at("2024-09-02 00:00:00"))
		e.do(t, call{method: "POST", path: "/api/refunds", body: map[string]any{"out_trade_no": "S0", "out_refund_no": "RF2", "amount_fen": 999}}) // the next day
		// Another merchant's payment that day is not in this statement.
		e.clk.Set(at("2024-09-01 10:00:00"))
		x := e.do(t, call{method: "POST", path: "/api/trades", merchant: "M2002", key: "k-other", body: map[string]any{
			"out_trade_no": "X1", "amount_fen": 100, "notify_url": "http://127.0.0.1:1/n"}})
		e.pay(t, x.json(t)["trade_no"].(string))

		e.clk.Set(at("2024-09-01 23:59:00"))
		if a := e.do(t, call{method: "GET", path: "/api/statements/2024-09-01"}); a.status != 404 || a.code(t) != "STATEMENT_NOT_READY" {
			t.Errorf("statement of today = %d %s, want 404 STATEMENT_NOT_READY", a.status, a.body)
		}
		if a := e.do(t, call{method: "GET", path: "/api/statements/2024-9-1"}); a.status != 400 {
			t.Errorf("statement of a malformed day = %d, want 400", a.status)
		}
		e.clk.Set(at("2024-09-02 08:00:00"))
		a = e.do(t, call{method: "GET", path: "/api/statements/2024-09-01"})
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("statement = %d %s %s", a.status, a.header.Get("Content-Type"), a.body)
		}
		r := csv.NewReader(strings.NewReader(string(a.body)))
		r.FieldsPerRecord = -1
		got, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// Fees: 12345 × 0.6% = 74.07 → 74; 750 × 0.6% = 4.5 → 5 (half up, not 4).
		want := [][]string{
			{"type", "trade_no", "out_trade_no", "refund_no", "amount_fen", "fee_fen", "time"},
			{"PAY", first, "S1", "", "12345", "74", "2024-09-01T00:00:00+08:00"},
			{"PAY", second, "S2", "", "750", "5", "2024-09-01T13:14:15+08:00"},
			{"REFUND", first, "S1", refundNo, "2000", "0", "2024-09-01T18:00:00+08:00"},
			{"SUMMARY", "3", "13095", "79", "2000", "11016"},
		}
		if len(got) != len(want) {
			t.Fatalf("statement has %d lines, want %d:\n%s", len(got), len(want), a.body)
		}
		for i := range want {
			if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
				t.Errorf("line %d = %v, want %v", i, got[i], want[i])
			}
		}

		a = e.do(t, call{method: "GET", path: "/api/statements/2024-08-31"})
		if !strings.Contains(string(a.body), "PAY,"+before+",S0,,999,6,2024-08-31T23:59:59+08:00\n") ||
			!strings.HasSuffix(string(a.body), "SUMMARY,1,999,6,0,993\n") {
			t.Errorf("statement of 31 August:\n%s", a.body)
		}
		a = e.do(t, call{method: "GET", path: "/api/statements/2024-08-30"})
		if want := "type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\nSUMMARY,0,0,0,0,0\n"; string(a.body) != want {
			t.Errorf("empty statement = %q, want %q", a.body, want)
		}
	})
}
