package jobs

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
	"campuspay/store/storetest"
)

// Two instances sharing a database: every tick runs the job on one of them only.
func TestJobRunsOnceAcrossTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		var runs [2]atomic.Int64
		var scheds []*Scheduler
		for i := range 2 {
			s, err := NewScheduler(db, slog.Default(), []Job{{Name: "tick", Every: 200 * time.Millisecond,
				Run: func(context.Context) { runs[i].Add(1) }}})
			if err != nil {
				t.Fatal(err)
			}
			scheds = append(scheds, s)
		}
		for _, s := range scheds {
			s.Start()
		}
		time.Sleep(1300 * time.Millisecond)
		for _, s := range scheds {
			s.Stop()
		}
		a, b := runs[0].Load(), runs[1].Load()
		if a+b < 4 {
			t.Fatalf("job ran %d+%d times in 1.3 s at 200 ms, want at least 4", a, b)
		}
		if a != 0 && b != 0 {
			t.Errorf("both instances ran the job (%d and %d times), want one leader", a, b)
		}
	})
}

func TestLeaseMovesWhenLeaderStops(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		first := &elector{db: db, owner: "a"}
		second := &elector{db: db, owner: "b"}
		ctx := context.Background()
		if err := first.IsLeader(ctx); err != nil {
			t.Fatalf("first IsLeader = %v, want leader", err)
		}
		if err := second.IsLeader(ctx); err == nil {
			t.Fatal("second is leader while the first holds the lease")
		}
		if err := store.ReleaseLease(ctx, db, "scheduler", "a"); err != nil {
			t.Fatal(err)
		}
		if err := second.IsLeader(ctx); err != nil {
			t.Errorf("second IsLeader after release = %v, want leader", err)
		}
	})
}
