package api_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/app/server/servertest"
	"campuspay/store/storetest"
)

// The integration API's speed on MariaDB, through HTTP with signed requests (issue 4's
// target: 30,000 bills through the batch endpoint in under 30 s). Run with
//
//	CAMPUSPAY_BENCH_API=1 CAMPUSPAY_TEST_MYSQL='root@tcp(127.0.0.1:3306)/test' \
//	  go test ./app/api/ -run '^$' -bench 'BatchBills|SingleBills' -benchtime 1x
func benchPlatform(b *testing.B) (*servertest.Platform, *client.Client) {
	b.Helper()
	if os.Getenv("CAMPUSPAY_BENCH_API") == "" || os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("set CAMPUSPAY_BENCH_API=1 and CAMPUSPAY_TEST_MYSQL to run")
	}
	p := servertest.Start(b, servertest.Options{MySQL: true, Demo: true})
	c := apiClient(b, p, "bench-admissions", false, "TUITION-2026")
	return p, c
}

// BenchmarkBatchBills posts 30,000 tuition bills of new students (each a payer the
// platform creates) in 30 batches of 1,000, one batch after another, as one business
// system would.
func BenchmarkBatchBills(b *testing.B) {
	p, c := benchPlatform(b)
	_ = p
	ctx := context.Background()
	const total, size = 30_000, 1_000
	for n := 0; b.Loop(); n++ {
		start := time.Now()
		for k := 0; k < total/size; k++ {
			batch := make([]client.NewBill, size)
			for i := range batch {
				no := n*total + k*size + i
				batch[i] = client.NewBill{BillNo: fmt.Sprintf("T2026-%07d", no), ItemCode: "TUITION-2026", Amount: 500000 + int64(i%4)*50000,
					Payer: client.Payer{Type: "internal", ID: fmt.Sprintf("31%08d", no), Name: "新生"}, DueDate: "2026-12-31",
					Description: "2026-2027学年学费"}
			}
			res, err := c.CreateBills(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Status != 201 {
					b.Fatalf("%s: %d %+v", r.BillNo, r.Status, r.Error)
				}
			}
		}
		secs := time.Since(start).Seconds()
		b.ReportMetric(secs, "s/30k-bills")
		b.ReportMetric(total/secs, "bills/s")
	}
}

// BenchmarkSingleBills posts 3,000 bills one request each, 8 at a time (a busy
// registration system), and reports requests per second.
func BenchmarkSingleBills(b *testing.B) {
	_, c := benchPlatform(b)
	ctx := context.Background()
	const total, workers = 3_000, 8
	for n := 0; b.Loop(); n++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= total {
						return
					}
					no := int64(n)*total + i
					_, err := c.CreateBill(ctx, client.NewBill{BillNo: fmt.Sprintf("S2026-%07d", no), ItemCode: "TUITION-2026", Amount: 500000,
						Payer: client.Payer{Type: "internal", ID: fmt.Sprintf("2026%06d", no%100+1)}})
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		secs := time.Since(start).Seconds()
		b.ReportMetric(total/secs, "req/s")
		b.ReportMetric(secs*1000/total*workers, "ms/req")
	}
}
