package recon_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/recon"
	"campuspay/store"
	"campuspay/store/storetest"
)

// TestNightly: the job does nothing before the configured time (02:30 by default), then
// reconciles yesterday once, however often it is called.
func TestNightly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		o := f.order(t, "sandbox", 1500)
		f.pay(t, o, "sandbox", "SB9", at(27, 9, 0, 0))
		f.sandbox.set(date(27), sandboxStatement(sbLine{"PAY", "SB9", o.OrderNo, "", 1500, at(27, 9, 0, 0)}))
		f.card.set(date(27), cardStatement())

		f.clock.Set(at(28, 2, 0, 0))
		if ran, err := f.recon.Nightly(ctx); ran || err != nil {
			t.Fatalf("Nightly at 02:00 = %v, %v; want nothing before 02:30", ran, err)
		}
		f.clock.Set(at(28, 2, 35, 0))
		if ran, err := f.recon.Nightly(ctx); !ran || err != nil {
			t.Fatalf("Nightly at 02:35 = %v, %v; want the day reconciled", ran, err)
		}
		f.clock.Set(at(28, 2, 40, 0))
		if ran, err := f.recon.Nightly(ctx); ran || err != nil {
			t.Fatalf("Nightly again = %v, %v; want nothing (done)", ran, err)
		}
		var runs []*store.ReconRun
		db.NewSelect().Model(&runs).Where("kind = ? AND day = ?", recon.RunChannel, date(27)).Scan(ctx)
		if len(runs) != 2 {
			t.Fatalf("%d channel runs for 11-27, want one per channel", len(runs))
		}
		for _, r := range runs {
			if r.Status != recon.RunDone || r.RunBy != recon.NightlyActor || (r.Source == "sandbox" && r.MatchedCount != 1) {
				t.Errorf("run %s = %s by %s matched %d", r.Source, r.Status, r.RunBy, r.MatchedCount)
			}
		}
	})
}
