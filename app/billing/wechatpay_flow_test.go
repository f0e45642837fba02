package billing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bizday"
	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wxsim "campuspay/app/sim/wechatpay"
	"campuspay/store"
	"campuspay/store/storetest"
)

// wechatFixture is the billing fixture with the school's merchant account at a fake WeChat
// Pay served over HTTP, and the platform's notification door on the same server.
type wechatFixture struct {
	*flowFixture
	sim *wxsim.Sim
}

// wechatRetry is how soon the fake sends again a notification the door did not take.
const wechatRetry = 100 * time.Millisecond

func newWeChatFixture(t *testing.T, db *bun.DB) *wechatFixture {
	t.Helper()
	f := billingtest.NewFixture(t, db)
	// WeChat's SDK stamps our requests with the real clock and the fake refuses one more
	// than five minutes off its own: the fixture's clock starts at the real time.
	f.Clock.Set(store.UTC(time.Now().Truncate(time.Second)))
	sim := wxsim.New("/sim/wechatpay", f.Clock.Now, nil)
	w := &wechatFixture{flowFixture: serveFlow(t, db, f, "/sim/wechatpay/", sim, wechatpay.Driver{}), sim: sim}
	t.Cleanup(sim.Close) // before the server closes: no delivery is left in flight
	sim.SetPublicURL(w.srv.URL + "/sim/wechatpay")
	w.setSwitches(t, wxsim.Switches{})
	w.saveAccount(t, wechatpay.Name, sim.MerchantValues())
	return w
}

// setSwitches sets the fake's switches, with the fixture's quick retry unless sw says.
func (f *wechatFixture) setSwitches(t *testing.T, sw wxsim.Switches) {
	t.Helper()
	if sw.RetryEvery == 0 {
		sw.RetryEvery = wechatRetry
	}
	if err := f.sim.SetSwitches(sw); err != nil {
		t.Fatal(err)
	}
}

// saveMode saves the school's account in another verification mode, as finance does on
// the merchant page when WeChat moves the merchant to its public key.
func (f *wechatFixture) saveMode(t *testing.T, mode string) {
	t.Helper()
	f.Clock.Advance(time.Second) // a save at a later moment than the one before
	values := f.sim.MerchantValues()
	values[wechatpay.FieldVerifyMode] = mode
	f.saveAccount(t, wechatpay.Name, values)
}

// order opens an order of the payer on WeChat Pay for one bill.
func (f *wechatFixture) order(t *testing.T, bill *store.Bill) *store.Order {
	t.Helper()
	o, err := f.Svc.CreateOrder(context.Background(), billing.OrderRequest{PayerID: f.Payer.ID, Channel: wechatpay.Name,
		Lines: []billing.LineRequest{{BillID: bill.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// payNative opens a Native attempt of the order and pays it at the fake as a payer who
// scans the code does; it returns the attempt.
func (f *wechatFixture) payNative(t *testing.T, o *store.Order) *store.PaymentAttempt {
	t.Helper()
	_, a, res, err := f.Svc.Pay(context.Background(), o.OrderNo, billing.PayArgs{Way: channel.WayWxNative})
	if err != nil || res.QRContent == "" {
		t.Fatalf("Native attempt of %s: %+v, %v; want a code_url", o.OrderNo, res, err)
	}
	f.payAtWeChat(t, res.QRContent)
	return a
}

// payAtWeChat opens the address the payer was given (the code_url a phone scans, or the
// h5_url a phone browser is sent to), lands on the fake's page and presses 确认支付. It
// returns where the page then sent the payer (the H5 way back), if anywhere.
func (f *wechatFixture) payAtWeChat(t *testing.T, payURL string) string {
	t.Helper()
	p := open(t, payURL)
	if !strings.HasPrefix(p.url.String(), f.srv.URL+"/sim/wechatpay/") || !strings.Contains(p.body, "确认支付") {
		t.Fatalf("%s led to %s (HTTP %d), not WeChat's page to pay:\n%s", payURL, p.url, p.status, p.body)
	}
	done := p.press(t)
	switch done.status {
	case http.StatusSeeOther:
		return done.header.Get("Location")
	case http.StatusOK:
		if !strings.Contains(done.body, "支付成功") {
			t.Fatalf("after 确认支付: %s", done.body)
		}
		return ""
	}
	t.Fatalf("after 确认支付: HTTP %d %s", done.status, done.body)
	return ""
}

// A payer starts on the PC's QR code (Native), then pays on the phone (H5, which needs the
// payer's IP): the H5 attempt pays the order once under its own number, the Native trade is
// closed at WeChat, and the bill is credited once from the encrypted, signed notification
// through the merchant's door, however many times WeChat sends it.
func TestWeChatPayNativeThenH5PaysOnceThroughTheDoor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newWeChatFixture(t, db)
		bill := f.Bills[0]
		o := f.order(t, bill)
		_, native, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayWxNative})
		code := res.QRContent
		if err != nil || !strings.HasPrefix(res.QRContent, f.srv.URL+"/sim/wechatpay/pay/") || native.AttemptNo != o.OrderNo {
			t.Fatalf("Native attempt %+v, %+v, %v; want a code_url under the order's number", native, res, err)
		}
		door := f.srv.URL + "/notify/wechatpay/1"
		if tr, ok := f.sim.Trade(native.AttemptNo); !ok || tr.TradeType != "NATIVE" || tr.TotalFen != 50000 ||
			tr.MchID != f.sim.MchID() || tr.NotifyURL != door || tr.State != wxsim.StateNotPay {
			t.Errorf("Native trade at WeChat = %+v; want NATIVE 50000 fen for %s, notified at %s", tr, f.sim.MchID(), door)
		}
		// The payer reloading the page sees the same code.
		if _, again, _, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayWxNative}); err != nil || again.ID != native.ID {
			t.Errorf("second Native request made attempt %+v (%v), want the first again", again, err)
		}
		// The payer scans the code but does not pay.
		if p := open(t, res.QRContent); p.status != http.StatusOK || !strings.Contains(p.body, "待支付") {
			t.Fatalf("scanned code: HTTP %d\n%s", p.status, p.body)
		}

		_, h5, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayWxH5, PayerIP: "203.0.113.7"})
		if err != nil || res.RedirectURL == "" || h5.AttemptNo != o.OrderNo+"N2" {
			t.Fatalf("H5 attempt %+v, %+v, %v; want a page to open under %sN2", h5, res, err, o.OrderNo)
		}
		if tr, _ := f.sim.Trade(h5.AttemptNo); tr.TradeType != "MWEB" || tr.PayerIP != "203.0.113.7" || tr.TotalFen != 50000 {
			t.Errorf("H5 trade at WeChat = %+v; want MWEB for the payer's IP", tr)
		}

		f.setSwitches(t, wxsim.Switches{DuplicateNotify: 3}) // four copies of the notification
		if back := f.payAtWeChat(t, res.RedirectURL); back != f.Svc.ReturnURL(o.OrderNo) {
			t.Errorf("H5 page sent the payer to %q, want back to %q", back, f.Svc.ReturnURL(o.OrderNo))
		}
		paid := f.waitOrder(t, o.OrderNo, store.OrderPaid)
		wx, _ := f.sim.Trade(h5.AttemptNo)
		ps := payments(t, db, paid.ID)
		if len(ps) != 1 || ps[0].AttemptNo != h5.AttemptNo || ps[0].AmountFen != 50000 || ps[0].TradeNo != wx.TransactionID || ps[0].Late {
			t.Fatalf("payments %+v; want one of 50000 fen from %s under WeChat's %s", ps, h5.AttemptNo, wx.TransactionID)
		}
		if b := f.Bill(t, bill.ID); b.Status != store.BillPaid || b.AmountPaidFen != 50000 {
			t.Errorf("bill after payment: %s %d, want paid 50000", b.Status, b.AmountPaidFen)
		}
		// Closing the other attempt follows the payment (WeChat is asked first).
		var attempts []*store.PaymentAttempt
		waitFor(t, func() bool {
			attempts, _ = f.Svc.Attempts(ctx, paid.ID)
			return len(attempts) == 2 && attempts[0].Status != store.AttemptOpen
		})
		if len(attempts) != 2 || attempts[0].Status != store.AttemptClosed || attempts[1].Status != store.AttemptPaid ||
			attempts[1].TradeNo != wx.TransactionID {
			t.Errorf("attempts %+v; want the Native one closed and the H5 one paid with WeChat's number", attempts)
		}
		if tr, _ := f.sim.Trade(native.AttemptNo); tr.State != wxsim.StateClosed {
			t.Errorf("the Native trade at WeChat is %s, want CLOSED once H5 paid", tr.State)
		}
		// The code on the PC no longer offers to pay.
		if p := open(t, code); strings.Contains(p.body, "确认支付") {
			t.Errorf("the closed Native page still offers to pay:\n%s", p.body)
		}

		// The four copies: one applied, three duplicates, nothing more credited.
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = notifications(t, db, wechatpay.Name, h5.AttemptNo)
			return len(ns) >= 4
		})
		if got := outcomes(ns); got["applied"] != 1 || got["duplicate"] != 3 || len(ns) != 4 {
			t.Errorf("notifications of %s: %v, want 1 applied and 3 duplicates", h5.AttemptNo, got)
		}
		if n := ns[0]; n.MerchantID == nil || *n.MerchantID != store.DefaultMerchantID ||
			!strings.Contains(n.Body, wx.TransactionID) || !strings.Contains(n.Headers, "Wechatpay-Signature") {
			t.Errorf("kept notification %+v; want the school's door, the decrypted resource and the signed headers", n)
		}
		if ps := payments(t, db, paid.ID); len(ps) != 1 {
			t.Errorf("after four notifications: %d payments, want 1", len(ps))
		}
		// On the wire the resource was sealed (AEAD_AES_256_GCM) and the body signed; each
		// copy was taken with 204.
		hits := f.waitHits(t, 4)
		if len(hits) != 4 {
			t.Fatalf("%d requests at the door, want 4", len(hits))
		}
		for _, h := range hits {
			body := string(h.body)
			if !strings.Contains(body, `"resource_type":"encrypt-resource"`) || !strings.Contains(body, `"algorithm":"AEAD_AES_256_GCM"`) ||
				strings.Contains(body, wx.TransactionID) || strings.Contains(body, h5.AttemptNo) {
				t.Errorf("notification on the wire is not sealed: %s", body)
			}
			if h.header.Get("Wechatpay-Signature") == "" || h.header.Get("Wechatpay-Serial") != f.sim.Serial() {
				t.Errorf("notification headers %v; want signed under %s", h.header, f.sim.Serial())
			}
			if h.status != http.StatusNoContent {
				t.Errorf("door answered %d %s, want 204", h.status, h.ack)
			}
		}
	})
}

// A notification WeChat signed but naming another merchant number changes nothing and is
// kept as rejected (and WeChat is told FAIL); the query job then finds the payment, which
// is the school's.
func TestWeChatPayOtherMchIDRejectedQueryPays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newWeChatFixture(t, db)
		bill := f.Bills[1]
		o := f.order(t, bill)
		f.setSwitches(t, wxsim.Switches{OtherMchID: "1900000999", RetryEvery: time.Hour})
		a := f.payNative(t, o)
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = notifications(t, db, wechatpay.Name, a.AttemptNo)
			return len(ns) > 0
		})
		if n := ns[0]; n.Outcome != "rejected" || !strings.Contains(n.Error, "merchant_mismatch") || n.MerchantID == nil || *n.MerchantID != 1 {
			t.Errorf("notification kept as %q (%s), merchant %v; want rejected for the merchant number", n.Outcome, n.Error, n.MerchantID)
		}
		hits := f.waitHits(t, 1)
		if len(hits) != 1 || hits[0].status != http.StatusInternalServerError || !strings.Contains(string(hits[0].ack), `"code":"FAIL"`) {
			t.Errorf("door answers %+v; want one 500 FAIL", hits)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen || len(payments(t, db, o.ID)) != 0 {
			t.Fatalf("order after another merchant's notification: %s, want open and unpaid", got.Status)
		}
		if b := f.Bill(t, bill.ID); b.AmountPaidFen != 0 {
			t.Errorf("bill credited %d by another merchant's notification", b.AmountPaidFen)
		}

		// A query answer naming the other merchant number is no better than the notification.
		f.Clock.Advance(2 * time.Minute)
		if n, _ := f.Svc.SyncOpenOrders(ctx); n != 0 || len(payments(t, db, o.ID)) != 0 {
			t.Fatalf("query job paid %d on an answer naming another merchant, want 0", n)
		}

		// Asked with the school's own keys, WeChat says the school's trade is paid.
		f.setSwitches(t, wxsim.Switches{RetryEvery: time.Hour})
		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 1 {
			t.Fatalf("query job paid %d (%v), want 1", n, err)
		}
		wx, _ := f.sim.Trade(a.AttemptNo)
		ps := payments(t, db, o.ID)
		if len(ps) != 1 || ps[0].TradeNo != wx.TransactionID || ps[0].AmountFen != 120000 {
			t.Errorf("payments %+v; want one of 120000 fen under %s", ps, wx.TransactionID)
		}
		if b := f.Bill(t, bill.ID); b.Status != store.BillPaid || b.AmountPaidFen != 120000 {
			t.Errorf("bill after the query job: %s %d, want paid", b.Status, b.AmountPaidFen)
		}
		if got := outcomes(notifications(t, db, wechatpay.Name, a.AttemptNo)); got["rejected"] != 1 || len(got) != 1 {
			t.Errorf("notifications after the query job: %v, want the one rejected", got)
		}
	})
}

// A partial refund, then the rest. WeChat answers each PROCESSING; the first is settled by
// its REFUND.SUCCESS notification (sent three times), the second, whose notification is
// lost, by the follow-up query. Each settles exactly once.
func TestWeChatPayRefundProcessingThenSettledOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newWeChatFixture(t, db)
		bill := f.Bills[2] // 8000 fen
		o := f.order(t, bill)
		a := f.payNative(t, o)
		f.waitOrder(t, o.OrderNo, store.OrderPaid)

		request := func(amount int64) *store.Refund {
			t.Helper()
			r, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: bill.ID, AmountFen: amount, Reason: "退课", Actor: "finance1"})
			if err != nil {
				t.Fatal(err)
			}
			r, err = f.Svc.ApproveRefund(ctx, r.ID, "finance2", "")
			if err != nil || r.Status != store.RefundProcessing {
				t.Fatalf("refund of %d answered: %v %v, want processing (WeChat's PROCESSING)", amount, r.Status, err)
			}
			return r
		}

		// 1. 3000 fen, settled by the notification, which WeChat sends three times.
		f.setSwitches(t, wxsim.Switches{HoldRefunds: true})
		r1 := request(3000)
		if b := f.Bill(t, bill.ID); b.AmountRefundedFen != 0 {
			t.Errorf("bill refunded %d while WeChat is still processing", b.AmountRefundedFen)
		}
		f.setSwitches(t, wxsim.Switches{HoldRefunds: true, DuplicateNotify: 2})
		if n := f.sim.SettleRefunds(); n != 1 {
			t.Fatalf("WeChat settled %d refunds, want 1", n)
		}
		r1 = f.waitRefund(t, r1.ID, store.RefundSucceeded)
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = about(notifications(t, db, wechatpay.Name, a.AttemptNo), r1.RefundNo)
			return len(ns) >= 3
		})
		if got := outcomes(ns); got["refund"] != 3 || len(ns) != 3 {
			t.Errorf("refund notifications: %v, want 3 taken", got)
		}
		if !strings.Contains(ns[0].Body, `"refund_status":"SUCCESS"`) {
			t.Errorf("kept refund notification %s; want the decrypted REFUND.SUCCESS resource", ns[0].Body)
		}
		if r1.ChannelRefundNo == "" || auditCount(t, db, "refund.succeeded", r1.RefundNo) != 1 {
			t.Errorf("refund 1: WeChat's number %q, settled %d times; want a number, once", r1.ChannelRefundNo, auditCount(t, db, "refund.succeeded", r1.RefundNo))
		}
		if b := f.Bill(t, bill.ID); b.AmountRefundedFen != 3000 {
			t.Errorf("bill refunded %d after the first refund, want 3000", b.AmountRefundedFen)
		}

		// 2. The other 5000 fen; its notification is lost, the follow-up asks.
		f.setSwitches(t, wxsim.Switches{HoldRefunds: true, DropNotify: true})
		r2 := request(5000)
		if again, err := f.Svc.SyncRefund(ctx, r2.ID, "system"); err != nil || again.Status != store.RefundProcessing {
			t.Errorf("follow-up while WeChat is processing: %v %v, want still processing", again.Status, err)
		}
		if n := f.sim.SettleRefunds(); n != 1 {
			t.Fatalf("WeChat settled %d refunds, want 1", n)
		}
		r2, err := f.Svc.SyncRefund(ctx, r2.ID, "system")
		if err != nil || r2.Status != store.RefundSucceeded {
			t.Fatalf("follow-up after WeChat settled: %v %v, want succeeded", r2.Status, err)
		}
		if again, err := f.Svc.SyncRefund(ctx, r2.ID, "system"); err != nil || again.Status != store.RefundSucceeded {
			t.Errorf("refund 2 followed up again: %v %v", again.Status, err)
		}
		if auditCount(t, db, "refund.succeeded", r2.RefundNo) != 1 || r2.ChannelRefundNo == "" || r2.ChannelRefundNo == r1.ChannelRefundNo {
			t.Errorf("refund 2 settled %d times under %q; want once under its own number", auditCount(t, db, "refund.succeeded", r2.RefundNo), r2.ChannelRefundNo)
		}
		b := f.Bill(t, bill.ID)
		if b.AmountRefundedFen != 8000 || b.Status != store.BillRefunded {
			t.Errorf("bill after both refunds: refunded %d, %s; want 8000, refunded", b.AmountRefundedFen, b.Status)
		}
		if got := outcomes(notifications(t, db, wechatpay.Name, "")); got["rejected"] != 0 {
			t.Errorf("notifications %v; want none rejected", got)
		}
	})
}

// WeChat moves the merchant from its platform certificate to the WeChat Pay public key. A
// notification signed with the public key before finance has changed the account is
// refused (WeChat keeps sending it); once the account is in transition it verifies, and so
// does one signed with the certificate; once it is in public-key mode alone, the public key
// still verifies and a certificate's signature no longer does.
func TestWeChatPayModeSwitchNotificationsStillVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newWeChatFixture(t, db)
		now := f.Clock.Now()
		fourth := &store.Bill{BillNo: "B4", Source: "console", ItemID: f.Item.ID, PayerID: &f.Payer.ID, PayerType: "internal",
			PayerName: f.Payer.Name, AmountDueFen: 2000, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, fourth)
		certSerial := f.sim.Serial()

		// A: certificate mode, as the account was saved.
		a := f.order(t, f.Bills[0])
		f.payNative(t, a)
		f.waitOrder(t, a.OrderNo, store.OrderPaid)

		// B: ordered under the certificate; WeChat switches to its public key before the
		// payer pays, and the notification comes signed under PUB_KEY_ID_….
		b := f.order(t, f.Bills[1])
		_, bAttempt, res, err := f.Svc.Pay(ctx, b.OrderNo, billing.PayArgs{Way: channel.WayWxNative})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.sim.SetMode(wxsim.ModePublicKey); err != nil {
			t.Fatal(err)
		}
		pubID := f.sim.Serial()
		f.setSwitches(t, wxsim.Switches{RetryEvery: 200 * time.Millisecond})
		f.payAtWeChat(t, res.QRContent)
		var ns []*store.Notification
		waitFor(t, func() bool {
			ns = notifications(t, db, wechatpay.Name, "")
			return len(ns) > 1 // A's, and B's first try
		})
		if n := ns[1]; n.Outcome != "rejected" || !strings.Contains(n.Error, pubID) {
			t.Errorf("B's notification under %s in certificate mode kept as %q (%s), want rejected", pubID, n.Outcome, n.Error)
		}
		if got, _ := f.Svc.Order(ctx, b.OrderNo); got.Status != store.OrderOpen {
			t.Fatalf("order B after a notification we cannot verify: %s, want open", got.Status)
		}
		// Finance sets the account to the transition: WeChat's next try verifies.
		f.saveMode(t, wechatpay.ModeTransition)
		f.waitOrder(t, b.OrderNo, store.OrderPaid)
		if got := outcomes(notifications(t, db, wechatpay.Name, bAttempt.AttemptNo)); got["applied"] != 1 {
			t.Errorf("B's notifications %v, want one applied after the switch", got)
		}

		// C: in transition, answers and notifications under the certificate still verify.
		if err := f.sim.SetMode(wxsim.ModePlatformCert); err != nil {
			t.Fatal(err)
		}
		c := f.order(t, f.Bills[2])
		f.payNative(t, c)
		f.waitOrder(t, c.OrderNo, store.OrderPaid)

		// D: public-key mode alone, WeChat signing with the public key.
		if err := f.sim.SetMode(wxsim.ModePublicKey); err != nil {
			t.Fatal(err)
		}
		f.saveMode(t, wechatpay.ModePublicKey)
		d := f.order(t, fourth)
		dAttempt := f.payNative(t, d)
		f.waitOrder(t, d.OrderNo, store.OrderPaid)

		// A copy of D's notification signed with the certificate is no longer believed.
		if err := f.sim.SetMode(wxsim.ModePlatformCert); err != nil {
			t.Fatal(err)
		}
		f.setSwitches(t, wxsim.Switches{RetryEvery: time.Hour})
		before := len(f.waitHits(t, len(notifications(t, db, wechatpay.Name, "")))) // every one answered
		wx, _ := f.sim.Trade(dAttempt.AttemptNo)
		f.sim.SendEvent(f.srv.URL+"/notify/wechatpay/1", "TRANSACTION.SUCCESS", map[string]any{
			"mchid": f.sim.MchID(), "appid": f.sim.AppID(), "out_trade_no": dAttempt.AttemptNo, "transaction_id": wx.TransactionID,
			"trade_type": "NATIVE", "trade_state": "SUCCESS", "success_time": now.In(bizday.Shanghai).Format(time.RFC3339),
			"amount": map[string]any{"total": 2000, "payer_total": 2000, "currency": "CNY"},
		})
		hits := f.waitHits(t, before+1)
		if last := hits[len(hits)-1]; len(hits) != before+1 || last.header.Get("Wechatpay-Serial") != certSerial || last.status == http.StatusNoContent {
			t.Errorf("door: %d requests, the last under %s answered %d; want one more, under the certificate, refused",
				len(hits), last.header.Get("Wechatpay-Serial"), last.status)
		}
		ns = notifications(t, db, wechatpay.Name, "")
		if last := ns[len(ns)-1]; last.Outcome != "rejected" || !strings.Contains(last.Error, certSerial) {
			t.Errorf("a certificate's notification in public-key mode kept as %q (%s), want rejected", last.Outcome, last.Error)
		}
		for i, o := range []*store.Order{a, b, c, d} {
			if ps := payments(t, db, o.ID); len(ps) != 1 {
				t.Errorf("order %c: %d payments, want 1", 'A'+i, len(ps))
			}
		}
		if got := outcomes(notifications(t, db, wechatpay.Name, "")); got["applied"] != 4 {
			t.Errorf("notifications %v, want 4 applied", got)
		}
	})
}
