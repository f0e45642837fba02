package billing_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/channel/unionpay"
	upsim "campuspay/app/sim/unionpay"
	"campuspay/store"
	"campuspay/store/storetest"
)

// unionpayFixture is the billing fixture with the school's merchant account at a fake
// UnionPay gateway served over HTTP, and the platform's notification door on the same server.
type unionpayFixture struct {
	*flowFixture
	sim *upsim.Sim
}

func newUnionPayFixture(t *testing.T, db *bun.DB) *unionpayFixture {
	t.Helper()
	f := billingtest.NewFixture(t, db)
	sim, err := upsim.New("/sim/unionpay", f.Clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.RetryInterval = 20 * time.Millisecond // UnionPay's retries, compressed
	u := &unionpayFixture{flowFixture: serveFlow(t, db, f, "/sim/unionpay/", sim, unionpay.Driver{}), sim: sim}
	t.Cleanup(sim.Close) // before the server closes: no delivery is left in flight
	u.saveAccount(t, unionpay.Name, sim.MerchantValues(u.srv.URL))
	return u
}

// order opens an order of the payer on UnionPay for one bill.
func (f *unionpayFixture) order(t *testing.T, bill *store.Bill) *store.Order {
	t.Helper()
	o, err := f.Svc.CreateOrder(context.Background(), billing.OrderRequest{PayerID: f.Payer.ID, Channel: unionpay.Name,
		Lines: []billing.LineRequest{{BillID: bill.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// payForm starts an attempt of the order in way and returns the form the cashier would
// post for the payer's browser.
func (f *unionpayFixture) payForm(t *testing.T, o *store.Order, way channel.Way) (*store.PaymentAttempt, *channel.PostForm) {
	t.Helper()
	_, a, res, err := f.Svc.Pay(context.Background(), o.OrderNo, billing.PayArgs{Way: way, PayerIP: "203.0.113.9"})
	if err != nil || res.Form == nil {
		t.Fatalf("%s attempt of %s: %+v, %v; want a form to post", way, o.OrderNo, res, err)
	}
	return a, res.Form
}

// gateway posts the form as the payer's browser does (the cashier auto-submits it) and
// returns UnionPay's page to pay.
func (f *unionpayFixture) gateway(t *testing.T, form *channel.PostForm) page {
	t.Helper()
	fields := url.Values{}
	for k, v := range form.Fields {
		fields.Set(k, v)
	}
	p := post(t, form.Action, fields)
	if p.status != http.StatusOK || !strings.Contains(p.body, "确认支付") {
		t.Fatalf("UnionPay's page after posting the form: HTTP %d\n%s", p.status, p.body)
	}
	return p
}

// payAtUnionPay posts the form, presses 确认支付 on UnionPay's page, then 返回商户 on the
// page that follows (which posts the signed result to our return address).
func (f *unionpayFixture) payAtUnionPay(t *testing.T, form *channel.PostForm) {
	t.Helper()
	done := f.gateway(t, form).press(t)
	if !strings.Contains(done.body, "支付成功") {
		t.Fatalf("after 确认支付: HTTP %d\n%s", done.status, done.body)
	}
	if back := done.press(t); back.body != "back" || !strings.HasPrefix(back.url.String(), f.srv.URL+"/return/") {
		t.Errorf("返回商户 led to %s: %q", back.url, back.body)
	}
}

// A payer opens UnionPay's PC page, then pays on the phone (UP_WAP): the phone's attempt pays
// the order once through the merchant's door, however often UnionPay repeats its
// notification. UnionPay cannot close the PC page: when the payer pays there too, that
// money is recorded late and flagged for refund, and the bill is credited once.
func TestUnionPayWAPPaysOnceThroughTheDoor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newUnionPayFixture(t, db)
		bill := f.Bills[0]
		o := f.order(t, bill)
		pc, pcForm := f.payForm(t, o, channel.WayUpPC)
		wap, form := f.payForm(t, o, channel.WayUpWAP)
		if pc.AttemptNo != o.OrderNo || wap.AttemptNo != o.OrderNo+"N2" {
			t.Fatalf("attempts %s, %s; want %s and %sN2", pc.AttemptNo, wap.AttemptNo, o.OrderNo, o.OrderNo)
		}
		door := f.srv.URL + "/notify/unionpay/1"
		want := map[string]string{"txnType": "01", "channelType": "08", "orderId": wap.AttemptNo, "txnAmt": "50000",
			"merId": f.sim.MerID(), "backUrl": door, "frontUrl": f.Svc.ReturnURL(o.OrderNo), "customerIp": "203.0.113.9"}
		for k, v := range want {
			if form.Fields[k] != v {
				t.Errorf("form field %s = %q, want %q", k, form.Fields[k], v)
			}
		}
		if form.Action != f.srv.URL+"/sim/unionpay/gateway/api/frontTransReq.do" || form.Fields["signature"] == "" {
			t.Errorf("form posts to %s, signed %v; want the gateway's front transaction, signed", form.Action, form.Fields["signature"] != "")
		}

		f.sim.SetSwitches(upsim.Switches{DuplicateNotify: 2})
		f.payAtUnionPay(t, form)
		paid := f.waitOrder(t, o.OrderNo, store.OrderPaid)
		ps := payments(t, db, paid.ID)
		if len(ps) != 1 || ps[0].AttemptNo != wap.AttemptNo || ps[0].AmountFen != 50000 || ps[0].TradeNo == "" || ps[0].Late {
			t.Fatalf("payments %+v; want one of 50000 fen from %s", ps, wap.AttemptNo)
		}
		if b := f.Bill(t, bill.ID); b.Status != store.BillPaid || b.AmountPaidFen != 50000 {
			t.Errorf("bill after payment: %s %d, want paid 50000", b.Status, b.AmountPaidFen)
		}
		var attempts []*store.PaymentAttempt
		waitFor(t, func() bool {
			attempts, _ = f.Svc.Attempts(ctx, paid.ID)
			return len(attempts) == 2 && attempts[0].Status != store.AttemptOpen
		})
		if attempts[0].Status != store.AttemptClosed || attempts[1].Status != store.AttemptPaid || attempts[1].TradeNo != ps[0].TradeNo {
			t.Errorf("attempts %+v; want the PC one closed and the phone's paid with UnionPay's queryId", attempts)
		}
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = notifications(t, db, unionpay.Name, wap.AttemptNo)
			return len(ns) >= 3
		})
		if got := outcomes(ns); got["applied"] != 1 || got["duplicate"] != 2 || len(ns) != 3 {
			t.Errorf("notifications of %s: %v, want 1 applied and 2 duplicates", wap.AttemptNo, got)
		}
		if n := ns[0]; !strings.Contains(n.Body, "queryId="+ps[0].TradeNo) || n.MerchantID == nil || *n.MerchantID != 1 {
			t.Errorf("kept notification %+v; want UnionPay's form through the school's door", n)
		}
		for _, h := range f.waitHits(t, 3) {
			if h.status != http.StatusOK || !strings.Contains(string(h.body), "signPubKeyCert=") {
				t.Errorf("door: %d for %s; want 200 for a signed notification", h.status, h.body)
			}
		}

		// The PC page is still open in the payer's other browser, and UnionPay takes it.
		f.sim.SetSwitches(upsim.Switches{})
		f.payAtUnionPay(t, pcForm)
		waitFor(t, func() bool { return len(payments(t, db, paid.ID)) == 2 })
		ps = payments(t, db, paid.ID)
		if late := ps[1]; late.AttemptNo != pc.AttemptNo || !late.Late || late.CreditedFen != 0 || late.AmountFen != 50000 {
			t.Errorf("second payment %+v; want PC's 50000 fen recorded late, nothing credited", late)
		}
		var over []*store.Overpayment
		if err := db.NewSelect().Model(&over).Where("order_id = ?", paid.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(over) != 1 || over[0].AmountFen != 50000 || over[0].PaymentID != ps[1].ID || over[0].Status != store.OverpaymentOpen {
			t.Errorf("overpayments %+v; want PC's 50000 fen open for refund", over)
		}
		if b := f.Bill(t, bill.ID); b.AmountPaidFen != 50000 {
			t.Errorf("bill paid %d after the second payment, want 50000", b.AmountPaidFen)
		}
	})
}

// UnionPay's notification never comes: the query job asks with the attempt's orderId and
// txnTime, sees it still waiting while the payer has not paid, and pays the order once the
// payer has.
func TestUnionPayQueryFindsPaymentWhoseNotificationWasDropped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newUnionPayFixture(t, db)
		bill := f.Bills[1]
		o := f.order(t, bill)
		f.sim.SetSwitches(upsim.Switches{DropNotify: true})
		a, form := f.payForm(t, o, channel.WayUpWAP)
		onPage := f.gateway(t, form) // the payer is on UnionPay's page

		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 0 {
			t.Fatalf("query job before the payer paid: %d (%v), want 0", n, err)
		}
		if done := onPage.press(t); !strings.Contains(done.body, "支付成功") {
			t.Fatalf("after 确认支付: %s", done.body)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen {
			t.Fatalf("order %s without a notification, want open until queried", got.Status)
		}

		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 1 {
			t.Fatalf("query job paid %d (%v), want 1", n, err)
		}
		ps := payments(t, db, o.ID)
		if len(ps) != 1 || ps[0].AttemptNo != a.AttemptNo || ps[0].AmountFen != 120000 || ps[0].TradeNo == "" {
			t.Errorf("payments %+v; want one of 120000 fen from %s", ps, a.AttemptNo)
		}
		if b := f.Bill(t, bill.ID); b.Status != store.BillPaid || b.AmountPaidFen != 120000 {
			t.Errorf("bill after the query job: %s %d, want paid", b.Status, b.AmountPaidFen)
		}
		if ns := notifications(t, db, unionpay.Name, ""); len(ns) != 0 {
			t.Errorf("%d notifications kept, want none (all dropped)", len(ns))
		}
	})
}

// Refunds (txnType 04: parts of the payment) are accepted by UnionPay and finish later.
// The first settles by its notification, sent three times; the second, whose notification
// is lost, by the follow-up query. Each settles exactly once.
func TestUnionPayRefundFinishesAsynchronouslyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newUnionPayFixture(t, db)
		bill := f.Bills[2] // 8000 fen
		o := f.order(t, bill)
		_, form := f.payForm(t, o, channel.WayUpWAP)
		f.payAtUnionPay(t, form)
		f.waitOrder(t, o.OrderNo, store.OrderPaid)

		request := func(amount int64) *store.Refund {
			t.Helper()
			r, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: bill.ID, AmountFen: amount, Reason: "退课", Actor: "finance1"})
			if err != nil {
				t.Fatal(err)
			}
			r, err = f.Svc.ApproveRefund(ctx, r.ID, "finance2", "")
			if err != nil || r.Status != store.RefundProcessing {
				t.Fatalf("refund of %d answered: %v %v, want processing (accepted, not finished)", amount, r.Status, err)
			}
			return r
		}

		// 1. 3000 fen, settled by UnionPay's notification, sent three times.
		f.sim.SetSwitches(upsim.Switches{HoldRefunds: true})
		r1 := request(3000)
		if b := f.Bill(t, bill.ID); b.AmountRefundedFen != 0 {
			t.Errorf("bill refunded %d while UnionPay is processing", b.AmountRefundedFen)
		}
		f.sim.SetSwitches(upsim.Switches{HoldRefunds: true, DuplicateNotify: 2})
		if n := f.sim.FinishRefunds(); n != 1 {
			t.Fatalf("UnionPay finished %d refunds, want 1", n)
		}
		r1 = f.waitRefund(t, r1.ID, store.RefundSucceeded)
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = notifications(t, db, unionpay.Name, r1.RefundNo)
			return len(ns) >= 3
		})
		if got := outcomes(ns); got["refund"] != 3 || len(ns) != 3 {
			t.Errorf("refund notifications: %v, want 3 taken", got)
		}
		if !strings.Contains(ns[0].Body, "txnType=04") || !strings.Contains(ns[0].Body, "txnAmt=3000") {
			t.Errorf("kept refund notification %s; want txnType 04 of 3000 fen", ns[0].Body)
		}
		if r1.ChannelRefundNo == "" || auditCount(t, db, "refund.succeeded", r1.RefundNo) != 1 {
			t.Errorf("refund 1: UnionPay's queryId %q, settled %d times; want a number, once", r1.ChannelRefundNo, auditCount(t, db, "refund.succeeded", r1.RefundNo))
		}
		if b := f.Bill(t, bill.ID); b.AmountRefundedFen != 3000 {
			t.Errorf("bill refunded %d after the first refund, want 3000", b.AmountRefundedFen)
		}

		// 2. The other 5000 fen; its notification is lost, the follow-up asks.
		f.sim.SetSwitches(upsim.Switches{HoldRefunds: true, DropNotify: true})
		r2 := request(5000)
		if again, err := f.Svc.SyncRefund(ctx, r2.ID, "system"); err != nil || again.Status != store.RefundProcessing {
			t.Errorf("follow-up while UnionPay is processing: %v %v, want still processing", again.Status, err)
		}
		if n := f.sim.FinishRefunds(); n != 1 {
			t.Fatalf("UnionPay finished %d refunds, want 1", n)
		}
		r2, err := f.Svc.SyncRefund(ctx, r2.ID, "system")
		if err != nil || r2.Status != store.RefundSucceeded {
			t.Fatalf("follow-up after UnionPay finished: %v %v, want succeeded", r2.Status, err)
		}
		if again, err := f.Svc.SyncRefund(ctx, r2.ID, "system"); err != nil || again.Status != store.RefundSucceeded {
			t.Errorf("refund 2 followed up again: %v %v", again.Status, err)
		}
		if auditCount(t, db, "refund.succeeded", r2.RefundNo) != 1 || r2.ChannelRefundNo == "" || r2.ChannelRefundNo == r1.ChannelRefundNo {
			t.Errorf("refund 2 settled %d times under %q; want once under its own queryId", auditCount(t, db, "refund.succeeded", r2.RefundNo), r2.ChannelRefundNo)
		}
		b := f.Bill(t, bill.ID)
		if b.AmountRefundedFen != 8000 || b.Status != store.BillRefunded {
			t.Errorf("bill after both refunds: refunded %d, %s; want 8000, refunded", b.AmountRefundedFen, b.Status)
		}
		if got := outcomes(notifications(t, db, unionpay.Name, "")); got["rejected"] != 0 {
			t.Errorf("notifications %v; want none rejected", got)
		}
	})
}

// A notification is believed only when its signPubKeyCert chains to the school's configured
// UnionPay root and middle and names UnionPay. One signed by a leaf of another chain, and
// one whose leaf (under the right middle) names another organisation, are kept as rejected
// and change nothing; the query job, whose answers are signed by the same wrong leaf, pays
// nothing either until UnionPay signs with a proper leaf again.
func TestUnionPayForeignLeafRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newUnionPayFixture(t, db)
		bill := f.Bills[0]
		o := f.order(t, bill)
		a, form := f.payForm(t, o, channel.WayUpWAP)
		onPage := f.gateway(t, form)

		// A forger with a UnionPay-looking chain of its own says the attempt is paid.
		other, err := upsim.New("/other", f.Clock.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(other.Close)
		forged := other.Sign(map[string]string{
			"bizType": "000201", "txnType": "01", "txnSubType": "01", "channelType": "08", "accessType": "0",
			"currencyCode": "156", "merId": f.sim.MerID(), "orderId": a.AttemptNo, "txnTime": form.Fields["txnTime"],
			"txnAmt": "50000", "queryId": "FORGED0000000000001", "traceNo": "000001", "traceTime": form.Fields["txnTime"][4:],
			"settleAmt": "50000", "settleCurrencyCode": "156", "settleDate": form.Fields["txnTime"][4:8],
			"respCode": "00", "respMsg": "成功[0000000]",
		})
		resp, err := http.Post(f.srv.URL+"/notify/unionpay/1", "application/x-www-form-urlencoded", strings.NewReader(upsim.EncodeForm(forged)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("door answered 200 to a notification from another chain")
		}
		ns := notifications(t, db, unionpay.Name, "")
		if len(ns) != 1 || ns[0].Outcome != "rejected" || !strings.Contains(ns[0].Error, "not issued by the configured middle") {
			t.Fatalf("notifications %+v; want the forged one rejected for its chain", ns)
		}

		// UnionPay's gateway signs with a leaf naming another organisation: the payer pays,
		// the notification (tried five times) is refused each time.
		if err := f.sim.IssueLeaf(upsim.LeafCN("某某科技有限公司"), f.Clock.Now().Add(-time.Hour), f.Clock.Now().AddDate(1, 0, 0)); err != nil {
			t.Fatal(err)
		}
		if done := onPage.press(t); !strings.Contains(done.body, "支付成功") {
			t.Fatalf("after 确认支付: %s", done.body)
		}
		f.waitHits(t, 6)
		ns = notifications(t, db, unionpay.Name, "")
		if got := outcomes(ns); got["rejected"] != 6 || len(ns) != 6 {
			t.Errorf("notifications %v, want 6 rejected", got)
		}
		if !strings.Contains(ns[1].Error, "does not name") {
			t.Errorf("notification under another organisation's leaf rejected for %q, want its CN", ns[1].Error)
		}
		f.Clock.Advance(2 * time.Minute)
		if n, _ := f.Svc.SyncOpenOrders(ctx); n != 0 {
			t.Errorf("query job under the wrong leaf paid %d, want 0", n)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen || len(payments(t, db, o.ID)) != 0 {
			t.Fatalf("order %s after refused messages, want open and unpaid", got.Status)
		}
		if b := f.Bill(t, bill.ID); b.AmountPaidFen != 0 {
			t.Errorf("bill credited %d by refused messages", b.AmountPaidFen)
		}

		// UnionPay signs with a proper leaf again: the query job pays, with UnionPay's queryId.
		if err := f.sim.RotateLeaf(); err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 1 {
			t.Fatalf("query job after the rotation paid %d (%v), want 1", n, err)
		}
		if ps := payments(t, db, o.ID); len(ps) != 1 || ps[0].TradeNo == "FORGED0000000000001" || ps[0].AmountFen != 50000 {
			t.Errorf("payments %+v; want UnionPay's own one", ps)
		}
	})
}
