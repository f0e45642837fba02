package bills_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"campuspay/app/billing/billingtest"
	"campuspay/app/bills"
	"campuspay/app/imports"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkImport100kRows imports a 100,000-row Excel file of bills for 100,000 payers on
// the roster — parse, validate every row, insert all in one transaction — and reports rows
// per second and the process's peak resident memory during the import (VmHWM, reset just
// before it). On MariaDB when CAMPUSPAY_TEST_MYSQL is set, else on SQLite. Run with
//
//	CAMPUSPAY_BENCH_IMPORT=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/bills/ -run '^$' -bench BenchmarkImport100kRows -benchtime 1x
func BenchmarkImport100kRows(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_IMPORT") != "1" {
		b.Skip("set CAMPUSPAY_BENCH_IMPORT=1 to run the 100,000-row import benchmark")
	}
	const rows = 100_000
	var db *bun.DB
	if os.Getenv(storetest.EnvMySQL) != "" {
		db = storetest.MySQL(b)
	} else {
		db = storetest.SQLite(b)
	}
	ctx := context.Background()
	now := store.UTC(time.Now())
	svc := &bills.Service{DB: db}
	dept := &store.Department{Code: "BENCH", Name: "压测部门", CreatedAt: now}
	billingtest.Insert(b, db, dept)
	payers := make([]store.User, 0, 1000)
	for i := 1; i <= rows; i++ {
		no := fmt.Sprintf("B%09d", i)
		payers = append(payers, store.User{Login: no, Name: "缴费人" + strconv.Itoa(i), Roles: "payer", PayerNo: &no,
			Phone: fmt.Sprintf("139%08d", i), Status: "active", CreatedAt: now, UpdatedAt: now})
		if len(payers) == cap(payers) {
			billingtest.Insert(b, db, &payers)
			payers = payers[:0]
		}
	}
	file := benchWorkbook(b, rows)
	b.Logf("workbook: %d rows, %.1f MB", rows, float64(len(file))/1e6)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		item := &store.ChargeItem{Code: fmt.Sprintf("BENCH-%d", i), Name: "压测项目", DepartmentID: dept.ID, Category: "other",
			Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(b, db, item)
		runtime.GC()
		debug.FreeOSMemory()
		billingtest.ResetPeakRSS()
		b.StartTimer()

		start := time.Now()
		job, err := svc.ImportBills(ctx, item.ID, "bench.xlsx", file, nil, "bench")
		if err != nil {
			b.Fatal(err)
		}
		job, bad := billingtest.WaitImport(b, &imports.Runner{DB: db}, job.ID)
		elapsed := time.Since(start)

		b.StopTimer()
		if job.Status != store.ImportDone {
			b.Fatalf("import %s: %s %v", job.Status, job.Message, bad[:min(len(bad), 5)])
		}
		n, _ := db.NewSelect().Model((*store.Bill)(nil)).Where("item_id = ?", item.ID).Count(ctx)
		if n != rows {
			b.Fatalf("%d bills, want %d", n, rows)
		}
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(billingtest.PeakRSS())/(1<<20), "peak-MB")
		b.Logf("%s: %d rows in %s (%.0f rows/s), peak RSS %d MB", store.DialectOf(db), rows, elapsed.Round(time.Millisecond),
			float64(rows)/elapsed.Seconds(), billingtest.PeakRSS()>>20)
		b.StartTimer()
	}
}

// benchWorkbook writes rows bills (payer number, amount, note, due date) with excelize's
// stream writer, as a school's data platform would export them.
func benchWorkbook(b *testing.B, rows int) []byte {
	x := excelize.NewFile()
	defer x.Close()
	sw, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	sw.SetRow("A1", []any{"学号/工号", "姓名", "金额", "说明", "截止日期"})
	for i := 1; i <= rows; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		fen := 450000 + i%5*25000
		if err := sw.SetRow(cell, []any{fmt.Sprintf("B%09d", i), "缴费人" + strconv.Itoa(i),
			fmt.Sprintf("%d.%02d", fen/100, fen%100), "2026-2027学年学费", "2026-09-30"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
