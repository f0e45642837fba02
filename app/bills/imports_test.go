package bills_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bills"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestImportBillsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 10)
		item := f.ApprovedItem(t, billingtest.ItemForm("TRAIN-2026"))
		const header = "学号/工号,姓名,手机号,金额,说明,截止日期,账单号"
		tests := []struct {
			name  string
			lines []string
			bad   map[int]string // line → words its reason must contain
			whole string         // the file itself is refused with this
		}{
			{"three decimals", []string{header, "S0000001,,,100,,,", "S0000002,,,12.345,,,", "S0000003,,,100,,,"},
				map[int]string{3: "两位小数"}, ""},
			{"unknown payer", []string{header, "S0000001,,,100,,,", "S9999999,,,100,,,"},
				map[int]string{3: "不在缴费人名册"}, ""},
			{"same payer twice", []string{header, "S0000001,,,100,,,", "S0000002,,,100,,,", "S0000001,,,50,,,"},
				map[int]string{4: "与第 2 行是同一缴费人"}, ""},
			{"same bill number twice", []string{header, "S0000001,,,100,,,X-1", "S0000002,,,100,,,X-1"},
				map[int]string{3: "与第 2 行重复"}, ""},
			{"off-campus without phone", []string{header, ",张三,,100,,,", ",李四,1380000,100,,,"},
				map[int]string{2: "11 位手机号", 3: "11 位手机号"}, ""},
			{"amount too large, zero, and a bad date", []string{header, "S0000001,,,1000000.01,,,", "S0000002,,,0,,,", "S0000003,,,10,,2026-13-01,"},
				map[int]string{2: "不能超过", 3: "大于 0", 4: "截止日期"}, ""},
			{"name differs from the roster", []string{header, "S0000001,王五,,100,,,"},
				map[int]string{2: "与名册不符"}, ""},
			{"no amount column", []string{"学号/工号,说明", "S0000001,x"}, nil, "缺少列：金额"},
			{"no payer column", []string{"金额,说明", "100,x"}, nil, "缺少列：学号/工号"},
			{"header only", []string{header}, nil, "没有数据行"},
		}
		for _, tt := range tests {
			job, rows := f.ImportCSV(t, item.ID, tt.lines...)
			if job.Status != store.ImportFailed {
				t.Errorf("%s: status = %s, want failed", tt.name, job.Status)
			}
			if n := billingtest.ItemBillCount(t, db, item.ID); n != 0 {
				t.Fatalf("%s: %d bills loaded, want none", tt.name, n)
			}
			if tt.whole != "" && !strings.Contains(job.Message, tt.whole) {
				t.Errorf("%s: message = %q, want %q", tt.name, job.Message, tt.whole)
			}
			if job.ErrorCount != len(tt.bad) || len(rows) != len(tt.bad) {
				t.Errorf("%s: %d bad rows (%v), want %d", tt.name, job.ErrorCount, rows, len(tt.bad))
			}
			for _, r := range rows {
				if want, ok := tt.bad[r.Line]; !ok || !strings.Contains(r.Message, want) {
					t.Errorf("%s: line %d: %q, want a reason with %q", tt.name, r.Line, r.Message, want)
				}
			}
		}

		// A malformed file: not a workbook at all.
		job, _ := f.ImportFile(t, item.ID, "bills.xlsx", []byte("this is not a zip"))
		if job.Status != store.ImportFailed || !strings.Contains(job.Message, "不是有效的 Excel") {
			t.Errorf("malformed xlsx: %s %q, want failed as not a workbook", job.Status, job.Message)
		}
	})
}

func TestImportBillsLoadsEveryRowAndRefusesThemTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 300)
		ctx := context.Background()
		item := f.ApprovedItem(t, billingtest.ItemForm("TRAIN-2026"))
		var buf bytes.Buffer
		x := excelize.NewFile()
		x.SetSheetRow("Sheet1", "A1", &[]any{"学号/工号", "金额", "说明", "截止日期"})
		var want int64
		for i := 1; i <= 300; i++ {
			fen := int64(10000 + i)
			want += fen
			x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &[]any{fmt.Sprintf("S%07d", i), fmt.Sprintf("%d.%02d", fen/100, fen%100), "第一期", "2026-12-31"})
		}
		x.SetSheetRow("Sheet1", "A302", &[]any{"", "", "", ""}) // a blank row is skipped
		x.Write(&buf)
		job, rows := f.ImportFile(t, item.ID, "第一期.xlsx", buf.Bytes())
		if job.Status != store.ImportDone || len(rows) != 0 {
			t.Fatalf("import: %s %q %v, want done", job.Status, job.Message, rows)
		}
		if job.Total != 300 || job.Processed != 300 {
			t.Errorf("job counters = %d/%d, want 300/300", job.Processed, job.Total)
		}
		p, err := f.Reports.ItemProgress(ctx, item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Bills != 300 || p.DueFen != want || p.Payers() != 300 || p.OutstandingFen != want {
			t.Errorf("progress = %+v, want 300 bills due %d", p, want)
		}
		timeline, _ := f.Catalog.ItemTimeline(ctx, item.ID)
		if last := timeline[len(timeline)-1]; last.Action != "bills.imported" {
			t.Errorf("last timeline entry = %s, want bills.imported", last.Action)
		}
		// The same file again: every row is now a duplicate of a bill in the database.
		job, rows = f.ImportFile(t, item.ID, "第一期.xlsx", buf.Bytes())
		if job.Status != store.ImportFailed || job.ErrorCount != 300 || len(rows) != imports.MaxRowErrorsKept {
			t.Fatalf("second import: %s, %d errors, %d kept; want failed with 300, %d kept", job.Status, job.ErrorCount, len(rows), imports.MaxRowErrorsKept)
		}
		if rows[0].Line != 2 || !strings.Contains(rows[0].Message, "已有账单") {
			t.Errorf("first bad row = %+v, want line 2 already billed", rows[0])
		}
		if n := billingtest.ItemBillCount(t, db, item.ID); n != 300 {
			t.Errorf("bills after the refused import = %d, want 300", n)
		}
	})
}

func TestImportFixedPriceItemTakesThePrice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 3)
		in := billingtest.ItemForm("EXAM-2026")
		in.Pricing, in.Price, in.Audience = "fixed", "30", "both"
		item := f.ApprovedItem(t, in)
		job, rows := f.ImportCSV(t, item.ID, "学号,姓名,手机号", "S0000001,,", ",赵六,13912345678", "S0000002,,")
		if job.Status != store.ImportDone {
			t.Fatalf("import: %s %q %v", job.Status, job.Message, rows)
		}
		p, _ := f.Reports.ItemProgress(context.Background(), item.ID)
		if p.Bills != 3 || p.DueFen != 9000 || p.InternalPayers != 2 || p.ExternalPayers != 1 {
			t.Errorf("progress = %+v, want 3 bills of ¥30 for 2 + 1 payers", p)
		}
		// A fixed-price file that names another amount is refused.
		job, rows = f.ImportCSV(t, item.ID, "学号,金额", "S0000003,25")
		if job.Status != store.ImportFailed || len(rows) != 1 || !strings.Contains(rows[0].Message, "固定金额") {
			t.Errorf("wrong fixed amount: %s %v", job.Status, rows)
		}
	})
}

func TestAddAndCancelBill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 3)
		ctx := context.Background()
		item := f.ApprovedItem(t, billingtest.ItemForm("TRAIN-2026"))
		b, err := f.BillSvc.AddBill(ctx, item.ID, bills.BillInput{PayerNo: "S0000001", Amount: "1,200.50", DueDate: "2026-12-31"}, nil, "finance")
		if err != nil {
			t.Fatal(err)
		}
		if b.AmountDueFen != 120050 || b.PayerName != "学生1" || !strings.HasPrefix(b.BillNo, "TRAIN-2026-C") || len(b.BillNo) > 64 {
			t.Errorf("bill = %d %s %s, want ¥1,200.50 for 学生1 with a console number", b.AmountDueFen, b.PayerName, b.BillNo)
		}
		tests := []struct {
			in    bills.BillInput
			field string
		}{
			{bills.BillInput{PayerNo: "S0000001", Amount: "10"}, "payer_no"},
			{bills.BillInput{PayerNo: "S0000002", Amount: "12.345"}, "amount"},
			{bills.BillInput{PayerNo: "S0000002"}, "amount"},
			{bills.BillInput{Name: "张三", Phone: "12", Amount: "10"}, "phone"},
			{bills.BillInput{PayerNo: "NOPE", Amount: "10"}, "payer_no"},
		}
		for _, tt := range tests {
			_, err := f.BillSvc.AddBill(ctx, item.ID, tt.in, nil, "finance")
			var fe fault.FormErrors
			if !errors.As(err, &fe) || fe[tt.field] == "" {
				t.Errorf("AddBill(%+v) = %v, want an error on %s", tt.in, err, tt.field)
			}
		}
		if _, err := f.BillSvc.AddBill(ctx, item.ID, bills.BillInput{PayerNo: "S0000002", Amount: "10"}, &f.Other, "dept_jwc"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("AddBill from another department = %v, want not found", err)
		}
		if _, err := f.BillSvc.CancelBill(ctx, b.ID, &f.Other, "dept_jwc"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("CancelBill from another department = %v, want not found", err)
		}
		if _, err := f.BillSvc.CancelBill(ctx, b.ID, nil, "finance"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.BillSvc.CancelBill(ctx, b.ID, nil, "finance"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("cancel twice = %v, want conflict", err)
		}
		// A bill in an open order can't be cancelled.
		if _, err := f.BillSvc.CancelBill(ctx, f.Bills[0].ID, nil, "finance"); err != nil {
			t.Fatalf("cancel a free fixture bill: %v", err)
		}
		f.Order(t, billing.LineRequest{BillID: f.Bills[1].ID})
		if _, err := f.BillSvc.CancelBill(ctx, f.Bills[1].ID, nil, "finance"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("cancel a bill in an open order = %v, want conflict", err)
		}
		// The payer's bill was cancelled, so they may be billed again.
		if _, err := f.BillSvc.AddBill(ctx, item.ID, bills.BillInput{PayerNo: "S0000001", Amount: "10"}, nil, "finance"); err != nil {
			t.Errorf("bill again after cancelling: %v", err)
		}
	})
}
