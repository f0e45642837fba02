package billing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// TestOfflineImportRefusesAmountHiddenByFormat: a collection of 1200.505 formatted "0.00"
// (Excel shows 1200.51) credits nothing; the file is refused naming the row.
func TestOfflineImportRefusesAmountHiddenByFormat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newOfflineFixture(t, db)
		before := offlineCounts(t, db)
		header := []any{"方式", "学号/工号", "项目编码", "账单号", "金额", "收款日期", "凭证号/参考号"}
		file := billingtest.NumericWorkbook(t, header, [][]any{{"POS", "20260001", "DORM-2026", "", 1200.505, "2026-11-27", "POS-1"}}, 5, []int{2})
		job, err := f.Svc.ImportOffline(context.Background(), "collections.xlsx", file, "finance")
		if err != nil {
			t.Fatal(err)
		}
		job, rows := billingtest.WaitImport(t, f.Imports, job.ID)
		if job.Status != store.ImportFailed || len(rows) != 1 || rows[0].Line != 2 || !strings.Contains(rows[0].Message, "两位小数") {
			t.Fatalf("import = %s %q %+v, want failed on line 2 for three decimals", job.Status, job.Message, rows)
		}
		if after := offlineCounts(t, db); !mapsEqual(before, after) {
			t.Errorf("tables %v after a refused import, want %v", after, before)
		}
	})
}
