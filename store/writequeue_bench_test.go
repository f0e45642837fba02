package store

// How SQLite's writers fare with InTx's write queue and without it (issue 13.5): see
// docs/PERFORMANCE.md, "SQLite writers (issue 13.5)".
//
//	go test ./store -run '^$' -bench SQLiteWriters -benchtime 20000x -count 3

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// BenchmarkSQLiteWriters runs a transaction of ten bumps (read the hot row, write it,
// insert a row) through InTx, one at a time ("serial") and 4 per core at once
// ("parallel"); "parallel+plain" adds two goroutines writing single rows outside InTx the
// whole time (they wait in SQLite's busy handler), and reports how many they wrote and
// the longest one of their writes took. "queued" is OpenSQLite; "busy-handler" opens the
// database as before issue 13.5, every writer waiting for the lock in the busy handler.
func BenchmarkSQLiteWriters(b *testing.B) {
	ctx := context.Background()
	tenBumps := func(ctx context.Context, tx bun.Tx) error {
		for range 10 {
			if err := bump(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	}
	for _, mode := range []string{"queued", "busy-handler"} {
		b.Run(mode, func(b *testing.B) {
			open := openQueued
			if mode == "busy-handler" {
				open = openUnqueued
			}
			b.Run("serial", func(b *testing.B) {
				db := open(b)
				for b.Loop() {
					if err := InTx(ctx, db, tenBumps); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			})
			for _, plain := range []int{0, 2} {
				name := "parallel"
				if plain > 0 {
					name = "parallel+plain"
				}
				b.Run(name, func(b *testing.B) {
					db := open(b)
					stop := make(chan struct{})
					var wg sync.WaitGroup
					var mu sync.Mutex
					var waits []time.Duration
					for range plain {
						wg.Go(func() {
							for {
								select {
								case <-stop:
									return
								default:
								}
								start := time.Now()
								if _, err := db.NewInsert().Model(&map[string]any{"n": 0, "note": "plain"}).TableExpr("entries").Exec(ctx); err != nil {
									b.Error(err)
									return
								}
								mu.Lock()
								waits = append(waits, time.Since(start))
								mu.Unlock()
							}
						})
					}
					var failed atomic.Bool
					b.SetParallelism(4)
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := InTx(ctx, db, tenBumps); err != nil && !failed.Swap(true) {
								b.Error(err)
							}
						}
					})
					b.StopTimer()
					close(stop)
					wg.Wait()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
					if plain > 0 && len(waits) > 0 {
						b.ReportMetric(float64(len(waits))/b.Elapsed().Seconds(), "plain/s")
						b.ReportMetric(float64(slices.Max(waits).Microseconds())/1000, "plain-max-ms")
					}
				})
			}
		})
	}
}
