package bills_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// TestImportBillsReadsAmountsAsStored: 1200.50 formatted "0" shows 1201 in Excel but is
// billed as ¥1,200.50; 1200.505 formatted "0.00" shows 1200.51 but is refused, naming its
// row, because it has three decimals.
func TestImportBillsReadsAmountsAsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 3)
		item := f.ApprovedItem(t, billingtest.ItemForm("TRAIN-2026"))
		header := []any{"学号/工号", "金额"}

		file := billingtest.NumericWorkbook(t, header, [][]any{{"S0000001", 1200.50}, {"S0000002", 1200.505}, {"S0000003", 98765.4}}, 2, []int{1, 2, 4})
		job, rows := f.ImportFile(t, item.ID, "numbers.xlsx", file)
		if job.Status != store.ImportFailed || len(rows) != 1 || rows[0].Line != 3 || !strings.Contains(rows[0].Message, "两位小数") {
			t.Fatalf("import = %s %q %+v, want failed on line 3 for three decimals", job.Status, job.Message, rows)
		}
		if n := billingtest.ItemBillCount(t, db, item.ID); n != 0 {
			t.Fatalf("%d bills loaded from a refused file, want none", n)
		}

		file = billingtest.NumericWorkbook(t, header, [][]any{{"S0000001", 1200.50}, {"S0000003", 98765.4}}, 2, []int{1, 4})
		job, rows = f.ImportFile(t, item.ID, "numbers.xlsx", file)
		if job.Status != store.ImportDone {
			t.Fatalf("import = %s %q %+v, want done", job.Status, job.Message, rows)
		}
		var bills []store.Bill
		if err := db.NewSelect().Model(&bills).Where("item_id = ?", item.ID).Order("amount_due_fen").Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(bills) != 2 || bills[0].AmountDueFen != 120050 || bills[1].AmountDueFen != 9876540 {
			t.Errorf("bills = %+v, want 120050 and 9876540 fen", bills)
		}
	})
}
