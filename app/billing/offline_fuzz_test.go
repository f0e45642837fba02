package billing_test

import (
	"errors"
	"testing"
	"time"

	"campuspay/app/billing"
	"campuspay/app/fault"
	"campuspay/app/imports"
)

// FuzzParseOffline feeds the offline collection parser arbitrary CSV. It must never panic;
// it either refuses the file (a file error, or bad rows each with a line and a reason) or
// returns rows that keep every rule it promises: a known method, an amount in (0, max], a
// date not after today, a reference of at most 50 visible characters, unique per method,
// and a bill number or a payer number with an item code.
func FuzzParseOffline(f *testing.F) {
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		offlineHeader + "现金,,,B1,500.00,2026-11-26,XJ-0001,柜台\n",
		offlineHeader + "POS,2026000001,DORM-2026,,1200,2026/11/27,POS-1,\n代扣,2026000002,DORM-2026,,1200,2026年11月27日,DK-1,\n",
		offlineHeader + "现金,,,B1,-1,2026-11-28,,\n支票,,,,abc,x,XJ 1,\n",
		offlineHeader + "现金,,,B1,1,2026-11-26,R1\n现金,,,B1,1,2026-11-26,R1\n",
		"\ufeff方式,账单号,金额,收款日期,凭证号\ncash,B1,\"1,200.00\",46000,A:B\n",
		"方式,账单号,金额,收款日期\n现金,B1,1,2026-11-26\n",
		"\"unterminated\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := billing.ParseOffline("f.csv", data, today)
		if err != nil {
			var rows *imports.RowErrors
			var be *fault.Error
			switch {
			case errors.As(err, &rows):
				if rows.Total == 0 || len(rows.Rows) == 0 {
					t.Fatalf("imports.RowErrors without rows: %+v", rows)
				}
				last := 0
				for _, r := range rows.Rows {
					if r.Line <= last || r.Message == "" {
						t.Fatalf("bad rows out of order or without reason: %+v", rows.Rows)
					}
					last = r.Line
				}
			case errors.As(err, &be):
				if be.Message == "" {
					t.Fatal("file error without a message")
				}
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if len(recs) == 0 {
			t.Fatal("no error and no rows")
		}
		seen := map[string]bool{}
		for _, r := range recs {
			switch r.Method {
			case billing.OfflineCash, billing.OfflinePOS, billing.OfflineDeduction:
			default:
				t.Fatalf("line %d: method %q", r.Line, r.Method)
			}
			if r.AmountFen <= 0 || r.AmountFen > billing.MaxAmountFen {
				t.Fatalf("line %d: amount %d", r.Line, r.AmountFen)
			}
			if r.CollectedOn.IsZero() || r.CollectedOn.After(today) {
				t.Fatalf("line %d: date %v", r.Line, r.CollectedOn)
			}
			if r.Reference == "" || len(r.Reference) > billing.MaxOfflineReference || len(r.TradeNo()) > 64 {
				t.Fatalf("line %d: reference %q", r.Line, r.Reference)
			}
			if seen[r.TradeNo()] {
				t.Fatalf("line %d: reference %s twice", r.Line, r.TradeNo())
			}
			seen[r.TradeNo()] = true
			if r.BillNo == "" && (r.PayerNo == "" || r.ItemCode == "") {
				t.Fatalf("line %d: no bill named", r.Line)
			}
		}
	})
}
