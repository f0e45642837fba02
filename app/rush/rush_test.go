package rush_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"campuspay/app/rush"
	"campuspay/app/server/servertest"
	"campuspay/app/settings"
)

// A small rush, 20 payers 5 at a time, end to end over HTTP on each database: every payer
// gets to 支付成功 and a receipt, and every invariant of the money holds. No timing is
// asserted (the full-size run is `campuspay rush`, docs/PERFORMANCE.md).
func TestSmallRushKeepsTheMoney(t *testing.T) {
	servertest.Each(t, servertest.Options{Simulators: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		const payers = 20
		// Through the platform's settings store, so that its cache sees the channel at once.
		if _, err := p.Settings.Set(ctx, settings.ChannelsEnabled, "sandbox", "rush"); err != nil {
			t.Fatal(err)
		}
		changed, err := rush.Seed(ctx, p.DB, payers)
		if err != nil {
			t.Fatal(err)
		}
		if changed {
			t.Fatal("Seed changed the enabled channels, already sandbox")
		}
		before, err := rush.Snapshot(ctx, p.DB)
		if err != nil {
			t.Fatal(err)
		}
		res := rush.Run(ctx, rush.Config{Target: p.URL, Payers: payers, InFlight: 5, Timeout: 30 * time.Second})
		if res.Done != payers || res.Failed != 0 {
			var b strings.Builder
			res.Report(&b)
			t.Fatalf("%d of %d payers done, %d failed:\n%s", res.Done, payers, res.Failed, b.String())
		}
		for _, s := range rush.Steps {
			if n := res.Steps[s].Count(); n != payers {
				t.Errorf("step %s timed %d times, want %d", s, n, payers)
			}
		}
		inv, err := rush.Check(ctx, p.DB, before, payers)
		if err != nil {
			t.Fatal(err)
		}
		if !inv.OK() {
			var b strings.Builder
			inv.Report(&b)
			t.Fatalf("invariants:\n%s", b.String())
		}
		// A second seed on the same database is refused unless it is the same size.
		if _, err := rush.Seed(ctx, p.DB, payers+1); err == nil {
			t.Error("Seed of 21 payers over 20: no error")
		}
	})
}
