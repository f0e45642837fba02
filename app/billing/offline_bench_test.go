package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bizday"
	"campuspay/app/imports"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkOfflineImport100k imports a 100,000-row CSV file of offline collections — one
// per bill, half named by bill number and half by payer number and item code, cash, POS and
// deduction in turn — and reports rows per second and the process's peak resident memory
// during the import (VmHWM, reset just before it). Every row settles its bill with an
// order, a payment, a receipt and an offline_collections row, in one transaction. It runs
// on SQLite, and on MariaDB too when CAMPUSPAY_TEST_MYSQL is set:
//
//	CAMPUSPAY_BENCH_OFFLINE=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/billing/ -run '^$' -bench BenchmarkOfflineImport100k -benchtime 1x -timeout 30m
func BenchmarkOfflineImport100k(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_OFFLINE") != "1" {
		b.Skip("set CAMPUSPAY_BENCH_OFFLINE=1 to run the 100,000-row offline import benchmark")
	}
	b.Run("sqlite", func(b *testing.B) { benchOfflineImport(b, storetest.SQLite(b)) })
	if os.Getenv(storetest.EnvMySQL) != "" {
		b.Run("mysql", func(b *testing.B) { benchOfflineImport(b, storetest.MySQL(b)) })
	}
}

func benchOfflineImport(b *testing.B, db *bun.DB) {
	const rows = 100_000
	ctx := context.Background()
	now := store.UTC(time.Now())
	svc := &billing.Service{DB: db}
	dept := &store.Department{Code: "BENCH", Name: "压测部门", CreatedAt: now}
	billingtest.Insert(b, db, dept)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		item := &store.ChargeItem{Code: fmt.Sprintf("OFF-%d", i), Name: "压测项目", DepartmentID: dept.ID, Category: "tuition",
			Audience: store.AudienceInternal, Pricing: store.PricingPerBill, PartialAllowed: true, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(b, db, item)
		file := offlineBenchData(b, db, item, i, rows, now)
		runtime.GC()
		debug.FreeOSMemory()
		billingtest.ResetPeakRSS()
		b.StartTimer()

		start := time.Now()
		job, err := svc.ImportOffline(ctx, "bench.csv", file, "bench")
		if err != nil {
			b.Fatal(err)
		}
		job, bad := waitOfflineBench(b, &imports.Runner{DB: svc.DB}, job.ID)
		elapsed := time.Since(start)

		b.StopTimer()
		if job.Status != store.ImportDone {
			b.Fatalf("import %s: %s %v", job.Status, job.Message, bad[:min(len(bad), 5)])
		}
		paid, _ := db.NewSelect().Model((*store.Bill)(nil)).Where("item_id = ?", item.ID).Where("status = ?", store.BillPaid).Count(ctx)
		receipts, _ := db.NewSelect().Model((*store.Receipt)(nil)).Where("channel = ?", "offline").Count(ctx)
		if int(paid) != rows || int(receipts) != rows*(i+1) {
			b.Fatalf("%d bills paid and %d receipts, want %d", paid, receipts, rows)
		}
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(billingtest.PeakRSS())/(1<<20), "peak-MB")
		b.Logf("%s: %d rows in %s (%.0f rows/s), peak RSS %d MB", store.DialectOf(db), rows, elapsed.Round(time.Millisecond),
			float64(rows)/elapsed.Seconds(), billingtest.PeakRSS()>>20)
		b.StartTimer()
	}
}

// offlineBenchData makes rows payers (once) and a bill for each under item, and returns
// the CSV collecting every bill in full.
func offlineBenchData(b *testing.B, db *bun.DB, item *store.ChargeItem, run, rows int, now time.Time) []byte {
	ctx := context.Background()
	if run == 0 {
		payers := make([]store.User, 0, 1000)
		for i := 1; i <= rows; i++ {
			no := fmt.Sprintf("O%09d", i)
			payers = append(payers, store.User{Login: no, Name: fmt.Sprintf("缴费人%d", i), Roles: "payer", PayerNo: &no,
				Status: "active", CreatedAt: now, UpdatedAt: now})
			if len(payers) == cap(payers) {
				billingtest.Insert(b, db, &payers)
				payers = payers[:0]
			}
		}
	}
	var ids []int64
	if err := db.NewSelect().Model((*store.User)(nil)).Column("id").Where("payer_no LIKE 'O%'").OrderExpr("id").Scan(ctx, &ids); err != nil {
		b.Fatal(err)
	}
	bills := make([]store.Bill, 0, 1000)
	for i, id := range ids {
		pid := id
		bills = append(bills, store.Bill{BillNo: fmt.Sprintf("%s-%d", item.Code, i+1), Source: "import", ItemID: item.ID, PayerID: &pid,
			PayerType: "internal", PayerName: fmt.Sprintf("缴费人%d", i+1), AmountDueFen: 450000 + int64(i%5)*25000,
			Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now})
		if len(bills) == cap(bills) {
			billingtest.Insert(b, db, &bills)
			bills = bills[:0]
		}
	}
	day := bizday.DayOf(now).Format("2006-01-02")
	var buf bytes.Buffer
	buf.WriteString("方式,学号/工号,项目编码,账单号,金额,收款日期,凭证号/参考号,备注\n")
	methods := []string{"现金", "POS", "代扣"}
	for i := 1; i <= rows; i++ {
		fen := 450000 + (i-1)%5*25000
		if i%2 == 0 {
			fmt.Fprintf(&buf, "%s,,,%s-%d,%d.%02d,%s,R%d-%07d,\n", methods[i%3], item.Code, i, fen/100, fen%100, day, run, i)
		} else {
			fmt.Fprintf(&buf, "%s,O%09d,%s,,%d.%02d,%s,R%d-%07d,柜台\n", methods[i%3], i, item.Code, fen/100, fen%100, day, run, i)
		}
	}
	return buf.Bytes()
}

func waitOfflineBench(b *testing.B, r *imports.Runner, id int64) (*store.ImportJob, []imports.RowError) {
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		job, rows, err := r.Job(context.Background(), id, nil)
		if err != nil {
			b.Fatal(err)
		}
		if job.Status.Finished() {
			return job, rows
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("offline import %d did not finish", id)
	return nil, nil
}
