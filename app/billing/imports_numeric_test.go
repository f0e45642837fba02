package billing_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"campuspay/app/billing/billingtest"
	"campuspay/store"
	"campuspay/store/storetest"
)

// numericWorkbook is an import file whose amounts are real NUMERIC cells, each with a
// number format (excelize built-ins: 1 "0", 2 "0.00", 4 "#,##0.00").
func numericWorkbook(t *testing.T, header []any, rows [][]any, amountCol int, formats []int) []byte {
	t.Helper()
	x := excelize.NewFile()
	x.SetSheetRow("Sheet1", "A1", &header)
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		x.SetSheetRow("Sheet1", cell, &r)
		style, err := x.NewStyle(&excelize.Style{NumFmt: formats[i]})
		if err != nil {
			t.Fatal(err)
		}
		amount, _ := excelize.CoordinatesToCellName(amountCol, i+2)
		x.SetCellStyle("Sheet1", amount, amount, style)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportBillsReadsAmountsAsStored: 1200.50 formatted "0" shows 1201 in Excel but is
// billed as ¥1,200.50; 1200.505 formatted "0.00" shows 1200.51 but is refused, naming its
// row, because it has three decimals.
func TestImportBillsReadsAmountsAsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 3)
		item := f.ApprovedItem(t, billingtest.ItemForm("TRAIN-2026"))
		header := []any{"学号/工号", "金额"}

		file := numericWorkbook(t, header, [][]any{{"S0000001", 1200.50}, {"S0000002", 1200.505}, {"S0000003", 98765.4}}, 2, []int{1, 2, 4})
		job, rows := f.ImportFile(t, item.ID, "numbers.xlsx", file)
		if job.Status != store.ImportFailed || len(rows) != 1 || rows[0].Line != 3 || !strings.Contains(rows[0].Message, "两位小数") {
			t.Fatalf("import = %s %q %+v, want failed on line 3 for three decimals", job.Status, job.Message, rows)
		}
		if n := billingtest.ItemBillCount(t, db, item.ID); n != 0 {
			t.Fatalf("%d bills loaded from a refused file, want none", n)
		}

		file = numericWorkbook(t, header, [][]any{{"S0000001", 1200.50}, {"S0000003", 98765.4}}, 2, []int{1, 4})
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

// TestOfflineImportRefusesAmountHiddenByFormat: a collection of 1200.505 formatted "0.00"
// (Excel shows 1200.51) credits nothing; the file is refused naming the row.
func TestOfflineImportRefusesAmountHiddenByFormat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newOfflineFixture(t, db)
		before := offlineCounts(t, db)
		header := []any{"方式", "学号/工号", "项目编码", "账单号", "金额", "收款日期", "凭证号/参考号"}
		file := numericWorkbook(t, header, [][]any{{"POS", "20260001", "DORM-2026", "", 1200.505, "2026-11-27", "POS-1"}}, 5, []int{2})
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
