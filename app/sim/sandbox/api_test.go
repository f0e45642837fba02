package sandbox_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store/storetest"
)

func TestRequestSignature(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.createTrade(t, "SIG1", 100, "http://127.0.0.1:1/n", nil)
		other := `{"out_trade_no":"SIG1","amount_fen":1}`
		tests := []struct {
			name   string
			c      call
			status int
		}{
			{"good", call{}, 200},
			{"timestamp 299 s old", call{skew: -299 * time.Second}, 200},
			{"timestamp 299 s ahead", call{skew: 299 * time.Second}, 200},
			{"tampered body", call{method: "POST", path: "/api/trades", body: map[string]any{"out_trade_no": "SIG1", "amount_fen": 100}, signBody: &other}, 401},
			{"wrong key", call{key: "k-wrong"}, 401},
			{"another merchant's key", call{key: "k-other"}, 401},
			{"unknown merchant", call{merchant: "M9999"}, 401},
			{"stale timestamp", call{skew: -301 * time.Second}, 401},
			{"timestamp from the future", call{skew: 301 * time.Second}, 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.c
				if c.method == "" {
					c.method, c.path = "GET", "/api/trades/SIG1"
				}
				a := e.do(t, c)
				if a.status != tt.status {
					t.Fatalf("status = %d, want %d (%s)", a.status, tt.status, a.body)
				}
				if tt.status == 401 {
					if code := a.code(t); code != "BAD_SIGNATURE" {
						t.Errorf("code = %q, want BAD_SIGNATURE", code)
					}
				}
			})
		}
	})
}

func TestCreateTrade(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		create := func(body map[string]any) answer {
			return e.do(t, call{method: "POST", path: "/api/trades", body: body})
		}
		body := map[string]any{"out_trade_no": "A1001", "amount_fen": 12345, "subject": "学费",
			"notify_url": "http://127.0.0.1:1/notify", "expires_at": e.clk.Now().Add(time.Hour).Format(time.RFC3339)}
		first := create(body)
		if first.status != 200 {
			t.Fatalf("create: %d %s", first.status, first.body)
		}
		m := first.json(t)
		tradeNo := m["trade_no"].(string)
		if len(tradeNo) != 22 || tradeNo[:2] != "SB" {
			t.Errorf("trade_no = %q, want SB + 20 digits", tradeNo)
		}
		if m["pay_url"] != e.base+"/pay/"+tradeNo || m["status"] != "WAIT_PAY" {
			t.Errorf("create = %s", first.body)
		}

		again := create(body)
		if again.status != 200 || again.json(t)["trade_no"] != tradeNo {
			t.Errorf("repeat create = %d %s, want the same trade %s", again.status, again.body, tradeNo)
		}
		body["amount_fen"] = 12346
		if a := create(body); a.status != 409 || a.code(t) != "TRADE_CONFLICT" {
			t.Errorf("create with another amount = %d %s, want 409 TRADE_CONFLICT", a.status, a.body)
		}
		// Another merchant may use the same out_trade_no.
		body["amount_fen"] = 500
		if a := e.do(t, call{method: "POST", path: "/api/trades", body: body, merchant: "M2002", key: "k-other"}); a.status != 200 || a.json(t)["trade_no"] == tradeNo {
			t.Errorf("another merchant's create = %d %s", a.status, a.body)
		}
	})
}

func TestCreateTradeValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		future := e.clk.Now().Add(time.Hour).Format(time.RFC3339)
		tests := []struct {
			name   string
			change map[string]any
			status int
		}{
			{"fine", nil, 200},
			{"largest amount", map[string]any{"out_trade_no": "V2", "amount_fen": 100_000_000}, 200},
			{"32 chars", map[string]any{"out_trade_no": "A234567890123456789012345678901B"}, 200},
			{"no expiry", map[string]any{"out_trade_no": "V3", "expires_at": ""}, 200},
			{"33 chars", map[string]any{"out_trade_no": "A234567890123456789012345678901BC"}, 400},
			{"empty out_trade_no", map[string]any{"out_trade_no": ""}, 400},
			{"dash", map[string]any{"out_trade_no": "A-1"}, 400},
			{"chinese", map[string]any{"out_trade_no": "订单1"}, 400},
			{"zero amount", map[string]any{"amount_fen": 0}, 400},
			{"negative amount", map[string]any{"amount_fen": -100}, 400},
			{"too large", map[string]any{"amount_fen": 100_000_001}, 400},
			{"fractional amount", map[string]any{"amount_fen": 12.5}, 400},
			{"no notify_url", map[string]any{"notify_url": ""}, 400},
			{"relative notify_url", map[string]any{"notify_url": "/notify"}, 400},
			{"javascript return_url", map[string]any{"return_url": "javascript:alert(1)"}, 400},
			{"bad expires_at", map[string]any{"expires_at": "tomorrow"}, 400},
			{"past expires_at", map[string]any{"expires_at": e.clk.Now().Add(-time.Minute).Format(time.RFC3339)}, 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := map[string]any{"out_trade_no": "V1", "amount_fen": 100, "subject": "x",
					"notify_url": "http://127.0.0.1:1/n", "return_url": "http://127.0.0.1:1/r", "expires_at": future}
				for k, v := range tt.change {
					body[k] = v
				}
				a := e.do(t, call{method: "POST", path: "/api/trades", body: body})
				if a.status != tt.status {
					t.Fatalf("status = %d, want %d (%s)", a.status, tt.status, a.body)
				}
				if tt.status == 400 && a.code(t) != "INVALID_PARAM" {
					t.Errorf("code = %q, want INVALID_PARAM", a.code(t))
				}
			})
		}
		if a := e.do(t, call{method: "POST", path: "/api/trades", body: "{not json"}); a.status != 400 {
			t.Errorf("malformed JSON = %d, want 400", a.status)
		}
	})
}

func TestQueryAndClose(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		query := func(no string) answer { return e.do(t, call{method: "GET", path: "/api/trades/" + no}) }
		closeTrade := func(no string) answer { return e.do(t, call{method: "POST", path: "/api/trades/" + no + "/close"}) }

		if a := query("NOPE"); a.status != 404 || a.code(t) != "TRADE_NOT_EXIST" {
			t.Errorf("query unknown = %d %s, want 404 TRADE_NOT_EXIST", a.status, a.body)
		}
		paid := e.createTrade(t, "Q1", 2500, "http://127.0.0.1:1/n", nil)
		m := query("Q1").json(t)
		if m["status"] != "WAIT_PAY" || m["paid_at"] != nil || m["amount_fen"] != 2500.0 || m["trade_no"] != paid {
			t.Errorf("query before paying = %v", m)
		}
		e.sim.SetSwitches(sandboxDrop())
		e.pay(t, paid)
		m = query("Q1").json(t)
		paidAt, err := time.Parse(time.RFC3339, m["paid_at"].(string))
		if m["status"] != "SUCCESS" || err != nil || paidAt.Sub(e.clk.Now()).Abs() > time.Second {
			t.Errorf("query after paying = %v", m)
		}
		if a := closeTrade("Q1"); a.status != 409 || a.code(t) != "TRADE_PAID" {
			t.Errorf("close paid = %d %s, want 409 TRADE_PAID", a.status, a.body)
		}

		e.createTrade(t, "Q2", 100, "http://127.0.0.1:1/n", nil)
		for i, name := range []string{"waiting", "closed again"} {
			if a := closeTrade("Q2"); a.status != 200 || a.json(t)["status"] != "CLOSED" {
				t.Errorf("close %s (%d) = %d %s", name, i, a.status, a.body)
			}
		}
		if m := query("Q2").json(t); m["status"] != "CLOSED" {
			t.Errorf("query closed = %v", m)
		}
		if a := closeTrade("NEVER"); a.status != 200 {
			t.Errorf("close unknown = %d %s, want 200", a.status, a.body)
		}

		// A trade past its expiry reads as closed.
		e.createTrade(t, "Q3", 100, "http://127.0.0.1:1/n", map[string]any{"expires_at": e.clk.Now().Add(time.Minute).Format(time.RFC3339)})
		e.clk.Add(2 * time.Minute)
		if m := query("Q3").json(t); m["status"] != "CLOSED" {
			t.Errorf("query expired = %v, want CLOSED", m)
		}
	})
}

func TestRefund(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.sim.SetSwitches(sandboxDrop())
		e.pay(t, e.createTrade(t, "R1", 10000, "http://127.0.0.1:1/n", nil))
		e.createTrade(t, "R2", 10000, "http://127.0.0.1:1/n", nil)
		refund := func(out, refundNo string, amount int64) answer {
			return e.do(t, call{method: "POST", path: "/api/refunds", body: map[string]any{
				"out_trade_no": out, "out_refund_no": refundNo, "amount_fen": amount, "reason": "退学"}})
		}
		first := refund("R1", "F1", 3000)
		if first.status != 200 {
			t.Fatalf("refund: %d %s", first.status, first.body)
		}
		refundNo := first.json(t)["refund_no"].(string)
		if len(refundNo) != 22 || refundNo[:2] != "SR" || first.json(t)["status"] != "SUCCESS" {
			t.Errorf("refund = %s", first.body)
		}
		tests := []struct {
			name, out, refundNo string
			amount              int64
			status              int
			code                string
		}{
			{"the same again", "R1", "F1", 3000, 200, ""},
			{"same number, other amount", "R1", "F1", 3001, 409, "REFUND_CONFLICT"},
			{"beyond what is left", "R1", "F2", 7001, 422, "REFUND_EXCEEDS"},
			{"exactly what is left", "R1", "F3", 7000, 200, ""},
			{"anything more", "R1", "F4", 1, 422, "REFUND_EXCEEDS"},
			{"unpaid trade", "R2", "F5", 100, 422, "TRADE_NOT_PAID"},
			{"unknown trade", "R9", "F6", 100, 404, "TRADE_NOT_EXIST"},
			{"zero", "R1", "F7", 0, 400, "INVALID_PARAM"},
			{"bad refund number", "R1", "F-8", 1, 400, "INVALID_PARAM"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := refund(tt.out, tt.refundNo, tt.amount)
				if a.status != tt.status {
					t.Fatalf("status = %d, want %d (%s)", a.status, tt.status, a.body)
				}
				if tt.code != "" && a.code(t) != tt.code {
					t.Errorf("code = %q, want %q", a.code(t), tt.code)
				}
			})
		}
		if a := refund("R1", "F1", 3000); a.json(t)["refund_no"] != refundNo {
			t.Errorf("repeated refund = %s, want refund_no %s", a.body, refundNo)
		}
		a := e.do(t, call{method: "GET", path: "/api/refunds/R1/F3"})
		if m := a.json(t); a.status != 200 || m["amount_fen"] != 7000.0 || m["out_refund_no"] != "F3" || m["status"] != "SUCCESS" {
			t.Errorf("query refund = %d %s", a.status, a.body)
		}
		if a := e.do(t, call{method: "GET", path: "/api/refunds/R1/F4"}); a.status != 404 || a.code(t) != "REFUND_NOT_EXIST" {
			t.Errorf("query refused refund = %d %s, want 404 REFUND_NOT_EXIST", a.status, a.body)
		}
		var refunded int64
		if err := db.NewRaw("SELECT refunded_fen FROM sim_sandbox_trades WHERE out_trade_no = ?", "R1").Scan(t.Context(), &refunded); err != nil || refunded != 10000 {
			t.Errorf("refunded_fen = %d (%v), want 10000", refunded, err)
		}
	})
}
