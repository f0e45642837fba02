package campuscard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store/storetest"
)

func TestStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{}
		sim := &Sim{DB: db, Key: testKey, Now: clk.Now}
		base := serve(t, sim)
		for _, a := range []Account{
			{HolderNo: "2024001", Name: "张三", Password: "123456", BalanceFen: 100000},
			{HolderNo: "T0815", Name: "王老师", Password: "654321", BalanceFen: 50000},
		} {
			if err := sim.OpenAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		utc := func(s string) time.Time {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		txnNo := map[string]string{} // out no → txn no
		post := func(at, path string, body any) {
			t.Helper()
			clk.Set(utc(at))
			a := do(t, base, signedRequest{method: "POST", path: "/sim/card/api/" + path, body: mustJSON(body), key: testKey, ts: clk.Now()})
			if a.status != 200 {
				t.Fatalf("%s at %s: status %d: %s", path, at, a.status, a.body)
			}
			var ans struct {
				TxnNo       string `json:"txn_no"`
				OutNo       string `json:"out_no"`
				OutRefundNo string `json:"out_refund_no"`
			}
			if err := json.Unmarshal(a.body, &ans); err != nil {
				t.Fatal(err)
			}
			if ans.OutRefundNo != "" {
				txnNo[ans.OutRefundNo] = ans.TxnNo
			} else {
				txnNo[ans.OutNo] = ans.TxnNo
			}
		}
		debit := func(at, holder, password, outNo string, fen int64) {
			post(at, "debit", debitRequest{HolderNo: holder, Password: password, OutNo: outNo, AmountFen: fen})
		}
		refund := func(at, outNo, refundNo string, fen int64) {
			post(at, "refund", refundRequest{OutNo: outNo, OutRefundNo: refundNo, AmountFen: fen})
		}
		// 2026-03-14 in Shanghai is [2026-03-13T16:00Z, 2026-03-14T16:00Z).
		debit("2026-03-13T15:59:59.999999Z", "2024001", "123456", "P0", 1111) // 03-13 23:59:59
		debit("2026-03-13T16:00:00Z", "2024001", "123456", "P1", 2500)        // 03-14 00:00:00
		debit("2026-03-13T16:00:01Z", "T0815", "654321", "P2", 12345)         // 03-14 00:00:01
		debit("2026-03-14T01:30:00Z", "2024001", "123456", "P3", 99)          // 03-14 09:30
		refund("2026-03-14T02:00:00.25Z", "P1", "R1", 500)                    // 03-14 10:00
		refund("2026-03-14T03:00:00Z", "P0", "R0", 1111)                      // refunds yesterday's debit
		refund("2026-03-14T15:59:59Z", "P2", "R2", 345)                       // 03-14 23:59:59
		debit("2026-03-14T16:00:00Z", "2024001", "123456", "P4", 700)         // 03-15 00:00
		refund("2026-03-14T16:00:01Z", "P3", "R3", 99)                        // 03-15

		clk.Set(utc("2026-03-15T02:00:00Z"))
		a := do(t, base, signedRequest{method: "GET", path: "/sim/card/api/statements/2026-03-14", key: testKey, ts: clk.Now()})
		if a.status != 200 || a.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("statement: status %d, type %q: %s", a.status, a.header.Get("Content-Type"), a.body)
		}
		r := csv.NewReader(bytes.NewReader(a.body))
		r.FieldsPerRecord = -1 // the summary line has six fields, the others seven
		got, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"kind", "txn_no", "card_no", "holder_no", "out_no", "amount_fen", "time"},
			{"debit", txnNo["P1"], "C2024001", "2024001", "P1", "2500", "2026-03-14T00:00:00+08:00"},
			{"debit", txnNo["P2"], "CT0815", "T0815", "P2", "12345", "2026-03-14T00:00:01+08:00"},
			{"debit", txnNo["P3"], "C2024001", "2024001", "P3", "99", "2026-03-14T09:30:00+08:00"},
			{"refund", txnNo["R1"], "C2024001", "2024001", "R1", "500", "2026-03-14T10:00:00+08:00"},
			{"refund", txnNo["R0"], "C2024001", "2024001", "R0", "1111", "2026-03-14T11:00:00+08:00"},
			{"refund", txnNo["R2"], "CT0815", "T0815", "R2", "345", "2026-03-14T23:59:59+08:00"},
			{"SUMMARY", "3", "14944", "3", "1956", "12988"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("statement 2026-03-14 =\n%q\nwant\n%q", got, want)
		}

		for day, summary := range map[string][]string{
			"2026-03-13": {"SUMMARY", "1", "1111", "0", "0", "1111"},
			"2026-03-15": {"SUMMARY", "1", "700", "1", "99", "601"},
			"2026-03-16": {"SUMMARY", "0", "0", "0", "0", "0"},
		} {
			a := do(t, base, signedRequest{method: "GET", path: "/sim/card/api/statements/" + day, key: testKey, ts: clk.Now()})
			r := csv.NewReader(bytes.NewReader(a.body))
			r.FieldsPerRecord = -1
			lines, err := r.ReadAll()
			if err != nil || a.status != 200 {
				t.Fatalf("statement %s: status %d, %v", day, a.status, err)
			}
			if last := lines[len(lines)-1]; !reflect.DeepEqual(last, summary) {
				t.Errorf("statement %s summary = %q, want %q", day, last, summary)
			}
		}

		for _, bad := range []string{"2026-3-14", "2026-02-30", "yesterday"} {
			a := do(t, base, signedRequest{method: "GET", path: "/sim/card/api/statements/" + bad, key: testKey, ts: clk.Now()})
			if a.status != 400 {
				t.Errorf("statement %s: status %d (%s), want 400", bad, a.status, a.body)
			}
		}
	})
}
