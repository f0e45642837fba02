package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
	"campuspay/app/recon"
	alipaysim "campuspay/app/sim/alipay"
	"campuspay/store"
	"campuspay/store/storetest"
)

// The day's Alipay trade bill (a zip of GBK files) is fetched through the school's merchant
// account and reconciled on its normalised lines: the payment is matched by the attempt
// number it was paid under, the refund by its number, nothing left over. A bill whose
// summary disagrees with its lines is refused whole.
func TestAlipayStatementReconciled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		bill := f.Bills[0]
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: bill.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR}); err != nil {
			t.Fatal(err)
		}
		_, wap, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliWAP})
		if err != nil {
			t.Fatal(err)
		}
		f.payAtAlipay(t, res.RedirectURL)
		f.waitOrder(t, o.OrderNo, store.OrderPaid)
		r, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: bill.ID, AmountFen: 2000, Reason: "多缴", Actor: "finance1"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = f.Svc.ApproveRefund(ctx, r.ID, "finance2", ""); err != nil || r.Status != store.RefundSucceeded {
			t.Fatalf("refund: %v %v", r.Status, err)
		}

		f.Clock.Advance(20 * time.Hour) // the next morning: yesterday's bill is ready
		day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		rc := &recon.Service{Billing: f.Svc}
		if got := rc.Channels(ctx); !strings.Contains(strings.Join(got, ","), alipay.Name) {
			t.Fatalf("reconciled channels %v, want alipay among them", got)
		}
		out, err := rc.ReconcileChannel(ctx, alipay.Name, day, "finance")
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Runs) != 1 {
			t.Fatalf("runs %+v", out.Runs)
		}
		run := out.Runs[0]
		if run.Status != "done" || run.DiscrepancyCount != 0 || run.MatchedCount < 1 {
			t.Errorf("run %+v; want done, the payment of %s matched, no discrepancy", run, wap.AttemptNo)
		}
		var lines []*store.StatementLine
		if err := db.NewSelect().Model(&lines).Where("statement_id = ?", *run.StatementID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		var pay, refund bool
		for _, l := range lines {
			pay = pay || (l.OrderNo == wap.AttemptNo && l.AmountFen == 50000)
			refund = refund || l.RefundNo == r.RefundNo
		}
		if !pay || !refund {
			t.Errorf("statement lines %+v; want the payment under %s and refund %s", lines, wap.AttemptNo, r.RefundNo)
		}
		if raw, err := rc.StatementFile(ctx, *run.StatementID); err != nil || len(raw) < 4 || string(raw[:2]) != "PK" {
			t.Errorf("kept file: %d bytes, %v; want the zip as downloaded", len(raw), err)
		}

		f.sim.SetSwitches(alipaysim.Switches{TamperStatement: true})
		if _, err := rc.ReconcileChannel(ctx, alipay.Name, day, "finance"); err == nil || !strings.Contains(err.Error(), "整份拒收") {
			t.Errorf("tampered bill: %v; want it refused whole", err)
		}
	})
}
