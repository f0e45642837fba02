package recon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/recon"
	"campuspay/store"
	"campuspay/store/storetest"
)

// BenchmarkRecon1M reconciles one day of 1,000,000 sandbox statement lines against
// 1,000,000 paid orders, with a handful of differences (missing notifications repaired,
// amounts that differ, payments the channel lacks, orders the platform never had). It
// reports the seconds of the import (parse + store the lines) and of the match, and the
// peak resident memory of the timed part (VmHWM, reset before it). It needs
// CAMPUSPAY_BENCH_RECON=1; with CAMPUSPAY_TEST_MYSQL set it runs on MariaDB, else SQLite:
//
//	CAMPUSPAY_BENCH_RECON=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/recon/ -run '^$' -bench BenchmarkRecon1M -benchtime 1x -timeout 30m
func BenchmarkRecon1M(b *testing.B) {
	if os.Getenv("CAMPUSPAY_BENCH_RECON") != "1" {
		b.Skip("set CAMPUSPAY_BENCH_RECON=1 to run the 1,000,000-line reconciliation benchmark")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CAMPUSPAY_BENCH_RECON_LINES")); err == nil && v > 0 {
		n = v
	}
	var db *bun.DB
	if os.Getenv(storetest.EnvMySQL) != "" {
		db = storetest.MySQL(b)
	} else {
		db = storetest.SQLite(b)
	}
	ctx := context.Background()
	f := &fixture{db: db, clock: &clock{t: at(28, 3, 0, 0)}, sandbox: newFake("sandbox")}
	f.billing = benchBilling(db, f)
	f.recon = &recon.Service{Billing: f.billing}
	start := time.Now()
	diffs := seedDay(b, db, n)
	b.Logf("seeded %d orders and payments in %s", n, time.Since(start).Round(time.Second))

	for i := 0; i < b.N; i++ {
		resetPeak()
		runtime.GC()
		t0 := time.Now()
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeDayStatement(pw, n, diffs)) }()
		res, err := f.recon.ImportStatement(ctx, recon.StatementInput{Source: "sandbox", Day: date(27), Origin: recon.OriginFetch,
			FileName: "bench.csv", Actor: "bench"}, pr)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		run, err := f.recon.RunChannel(ctx, "sandbox", date(27), "bench")
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		peak := peakRSS()
		b.ReportMetric(t1.Sub(t0).Seconds(), "import-s")
		b.ReportMetric(t2.Sub(t1).Seconds(), "match-s")
		b.ReportMetric(t2.Sub(t0).Seconds(), "total-s")
		b.ReportMetric(float64(peak)/1024, "peak-MB")
		b.Logf("%d lines (v%d): import %s, match %s; matched %d, repaired %d, open %d; peak RSS %d MB",
			res.Statement.LineCount, res.Statement.Version, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond),
			run.MatchedCount, run.RepairedCount, run.DiscrepancyCount, peak/1024)
		if want := n - len(diffs.missingChannel) - len(diffs.amount); run.MatchedCount != want ||
			run.RepairedCount != len(diffs.notified) || run.DiscrepancyCount != len(diffs.missingChannel)+len(diffs.amount)+2 {
			b.Errorf("run = matched %d repaired %d open %d, want %d %d %d", run.MatchedCount, run.RepairedCount, run.DiscrepancyCount,
				want, len(diffs.notified), len(diffs.missingChannel)+len(diffs.amount)+2)
			var rows []*store.Discrepancy
			db.NewSelect().Model(&rows).Scan(ctx)
			for _, d := range rows {
				b.Logf("%s %s %s %d/%d %s", d.Type, d.Status, d.ItemKey, d.PlatformFen, d.ChannelFen, d.Note)
			}
		}
		if i+1 < b.N {
			db.NewDelete().Model((*store.Discrepancy)(nil)).Where("1 = 1").Exec(ctx)
		}
	}
}

// benchDiffs are the differences planted in the day.
type benchDiffs struct {
	notified       map[int]bool // paid at the channel, no payment on the platform (repaired)
	amount         map[int]bool // the statement says one fen more
	missingChannel map[int]bool // on the platform, not on the statement
}

func benchOrderNo(i int) string { return fmt.Sprintf("B%09d", i) }
func benchTradeNo(i int) string { return fmt.Sprintf("SB%018d", i) }
func benchAmount(i int) int64   { return int64(1000 + i%50000) }

// benchPaidAt spreads the day's payments from 00:00:00 to 23:59:59.
func benchPaidAt(i, n int) time.Time {
	return at(27, 0, 0, 0).Add(time.Duration(int64(i)*86399/int64(n)) * time.Second)
}

// seedDay inserts n orders and the payments of all but the "missed notification" ones,
// in multi-row INSERTs.
func seedDay(b *testing.B, db *bun.DB, n int) benchDiffs {
	ctx := context.Background()
	d := benchDiffs{notified: map[int]bool{}, amount: map[int]bool{}, missingChannel: map[int]bool{}}
	for k := 0; k < 5; k++ {
		d.notified[n/5*k+7] = true
	}
	for k := 0; k < 4; k++ {
		d.amount[n/4*k+11] = true
	}
	for k := 0; k < 3; k++ {
		d.missingChannel[n/3*k+13] = true
	}
	const chunk = 2000
	created := store.UTC(at(27, 0, 0, 0))
	orders := make([]store.Order, 0, chunk)
	payments := make([]store.Payment, 0, chunk)
	for i := 0; i < n; i++ {
		paid := store.UTC(benchPaidAt(i, n))
		id := int64(i + 1)
		o := store.Order{ID: id, OrderNo: benchOrderNo(i), PayerName: "压测", Channel: "sandbox", TotalFen: benchAmount(i),
			Status: store.OrderPaid, ExpiresAt: paid.Add(time.Hour), PaidAt: &paid, CreatedAt: created, UpdatedAt: paid}
		if d.notified[i] {
			o.Status, o.PaidAt = store.OrderOpen, nil
		} else {
			payments = append(payments, store.Payment{ID: id, OrderID: id, Channel: "sandbox", TradeNo: benchTradeNo(i),
				AmountFen: o.TotalFen, CreditedFen: o.TotalFen, PaidAt: paid, Raw: "notify", CreatedAt: paid})
		}
		orders = append(orders, o)
		if len(orders) == chunk || i == n-1 {
			if _, err := db.NewInsert().Model(&orders).Exec(ctx); err != nil {
				b.Fatal(err)
			}
			if len(payments) > 0 {
				if _, err := db.NewInsert().Model(&payments).Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
			orders, payments = orders[:0], payments[:0]
		}
	}
	return d
}

// writeDayStatement writes the sandbox's statement of the day, line by line.
func writeDayStatement(w io.Writer, n int, d benchDiffs) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\n")
	var count int
	var gross, fees int64
	line := func(trade, order string, amount int64, at time.Time) {
		fee := (amount*6 + 500) / 1000
		count++
		gross += amount
		fees += fee
		bw.WriteString("PAY," + trade + "," + order + ",," + strconv.FormatInt(amount, 10) + "," + strconv.FormatInt(fee, 10) + "," + at.Format(time.RFC3339) + "\n")
	}
	for i := 0; i < n; i++ {
		if d.missingChannel[i] {
			continue
		}
		amount := benchAmount(i)
		if d.amount[i] {
			amount++
		}
		line(benchTradeNo(i), benchOrderNo(i), amount, benchPaidAt(i, n))
	}
	line("SBX000000000000000001", "X000000001", 5000, at(27, 23, 0, 0))
	line("SBX000000000000000002", "X000000002", 6000, at(27, 23, 1, 0))
	fmt.Fprintf(bw, "SUMMARY,%d,%d,%d,0,%d\n", count, gross, fees, gross-fees)
	return bw.Flush()
}

// resetPeak resets the process's peak resident set (VmHWM) so that it measures what
// follows; peakRSS reads it, in kB.
func resetPeak() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmHWM:"), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func benchBilling(db *bun.DB, f *fixture) *billing.Service {
	return &billing.Service{DB: db, Now: f.clock.Now, Channels: map[string]channel.Channel{"sandbox": f.sandbox},
		NotifyURL: func(string) string { return "" }, ReturnURL: func(string) string { return "" }}
}
