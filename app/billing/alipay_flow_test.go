package billing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
	"campuspay/app/merchants"
	alipaysim "campuspay/app/sim/alipay"
	"campuspay/store"
	"campuspay/store/storetest"
)

// alipayFixture is the billing fixture with the school's merchant account at a fake
// Alipay served over HTTP, and the platform's notification door on the same server.
type alipayFixture struct {
	*billingtest.Fixture
	sim *alipaysim.Sim
	srv *httptest.Server
}

func newAlipayFixture(t *testing.T, db *bun.DB) *alipayFixture {
	t.Helper()
	f := &alipayFixture{Fixture: billingtest.NewFixture(t, db)}
	sim, err := alipaysim.New("/sim/alipay", f.Clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.RetryCompression = 60_000 // Alipay's 4-minute retry in 4 ms
	f.sim = sim
	mux := http.NewServeMux()
	mux.Handle("/sim/alipay/", sim)
	mux.HandleFunc("POST /notify/{channel}/{merchant}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		id, _ := strconv.ParseInt(r.PathValue("merchant"), 10, 64)
		ack, _ := f.Svc.Notify(r.Context(), r.PathValue("channel"), id, r.Header, body, r.RemoteAddr)
		if ack.Status == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ack.ContentType)
		w.WriteHeader(ack.Status)
		w.Write(ack.Body)
	})
	mux.HandleFunc("/return/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "back") })
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() { sim.Close(); f.srv.Close() })

	f.Svc.NotifyURL = func(ch string) string { return f.srv.URL + "/notify/" + ch }
	f.Svc.ReturnURL = func(no string) string { return f.srv.URL + "/return/" + no }
	f.Svc.Merchants = &merchants.Service{DB: db, Sealer: auth.Box{Key: []byte("test-secrets")}, Now: f.Clock.Now,
		Drivers: map[string]channel.Driver{alipay.Name: alipay.Driver{}}, Client: f.srv.Client()}
	values := sim.MerchantValues(f.srv.URL + "/sim/alipay/gateway.do")
	if _, err := f.Svc.Merchants.Save(context.Background(), store.DefaultMerchantID, alipay.Name, values, true, false, "finance"); err != nil {
		t.Fatal(err)
	}
	return f
}

// payAtAlipay does what a payer does with what the cashier gave: open the address (the QR
// code's or the phone page's), land on the fake's hosted page and press 确认支付.
func (f *alipayFixture) payAtAlipay(t *testing.T, payURL string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := payURL
	for range 5 {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next, err := resp.Request.URL.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			u = next.String()
			continue
		}
		break
	}
	if !strings.Contains(u, "/sim/alipay/pay/") {
		t.Fatalf("%s did not lead to the hosted page (ended at %s)", payURL, u)
	}
	resp, err := client.PostForm(u, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay at the fake: status %d", resp.StatusCode)
	}
}

// waitOrder waits, with a deadline, until the order is in status.
func (f *alipayFixture) waitOrder(t *testing.T, orderNo string, status store.OrderStatus) *store.Order {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := f.Svc.Order(context.Background(), orderNo)
		if err == nil && o.Status == status {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: %v %v, want %s", orderNo, o.Status, err, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A payer starts on the PC's QR code, then pays on the phone: the phone's attempt pays the
// order (its own number at Alipay), the QR attempt is closed at Alipay, and the bill is
// credited once from the signed notification through the merchant's door.
func TestAlipayAttemptsPayOnceThroughTheDoor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		bill := f.Bills[0]
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: bill.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		_, qr, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR})
		if err != nil || res.QRContent == "" || qr.AttemptNo != o.OrderNo {
			t.Fatalf("QR attempt %+v, %+v, %v; want a QR code under the order's number", qr, res, err)
		}
		calls := f.sim.Calls()
		last := calls[len(calls)-1]
		if last.Method != "alipay.trade.precreate" || last.Biz["total_amount"] != "500.00" || last.Biz["out_trade_no"] != o.OrderNo ||
			last.NotifyURL != f.srv.URL+"/notify/alipay/1" {
			t.Errorf("precreate call = %+v; want 500.00 for %s, notify at the merchant's door", last, o.OrderNo)
		}
		// The same way again is the same attempt: the payer reloading sees the same code.
		if _, again, _, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR}); err != nil || again.ID != qr.ID {
			t.Errorf("second QR request made attempt %+v (%v), want the first again", again, err)
		}
		// The payer scans the QR code (Alipay makes the trade on the scan) but does not pay.
		if resp, err := http.Get(res.QRContent); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		_, wap, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliWAP})
		if err != nil || res.RedirectURL == "" || wap.AttemptNo != o.OrderNo+"N2" {
			t.Fatalf("phone attempt %+v, %+v, %v; want a page to open under %sN2", wap, res, err, o.OrderNo)
		}

		f.payAtAlipay(t, res.RedirectURL)
		paid := f.waitOrder(t, o.OrderNo, store.OrderPaid)
		ps := payments(t, db, paid.ID)
		if len(ps) != 1 || ps[0].AttemptNo != wap.AttemptNo || ps[0].AmountFen != 50000 {
			t.Fatalf("payments %+v; want one of 50000 fen from attempt %s", ps, wap.AttemptNo)
		}
		if b := f.Bill(t, bill.ID); b.Status != store.BillPaid || b.AmountPaidFen != 50000 {
			t.Errorf("bill after payment: %s %d", b.Status, b.AmountPaidFen)
		}
		gw, err := f.Svc.GatewayFor(ctx, alipay.Name, store.DefaultMerchantID)
		if err != nil {
			t.Fatal(err)
		}
		// The other attempts are closed right after the payment commits: wait for it.
		var (
			tr       channel.Trade
			attempts []*store.PaymentAttempt
		)
		for deadline := time.Now().Add(10 * time.Second); ; {
			tr, err = gw.Provider.Query(ctx, channel.TradeRef{AttemptNo: qr.AttemptNo})
			attempts, _ = f.Svc.Attempts(ctx, paid.ID)
			closed := err == nil && tr.Status == channel.TradeClosed && len(attempts) == 2 && attempts[0].Status == store.AttemptClosed
			if closed || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || tr.Status != channel.TradeClosed {
			t.Errorf("the QR attempt at Alipay: %+v, %v; want closed once the phone paid", tr, err)
		}
		if len(attempts) != 2 || attempts[0].Status != store.AttemptClosed || attempts[1].Status != store.AttemptPaid || attempts[1].TradeNo != ps[0].TradeNo {
			t.Errorf("attempts %+v; want the QR closed and the phone's paid with Alipay's number", attempts)
		}

		// TRADE_FINISHED after TRADE_SUCCESS, and duplicates: nothing more is credited.
		f.sim.SetSwitches(alipaysim.Switches{DuplicateNotify: 3})
		if err := f.sim.Finish(wap.AttemptNo); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			n, _ := db.NewSelect().Model((*store.Notification)(nil)).Where("order_no = ?", wap.AttemptNo).Where("outcome = ?", "duplicate").Count(ctx)
			return n >= 4
		})
		if ps := payments(t, db, paid.ID); len(ps) != 1 {
			t.Errorf("after TRADE_FINISHED ×4: %d payments, want 1", len(ps))
		}
	})
}

// A notification Alipay signed but naming another seller changes nothing and is kept as
// rejected; the query job then finds the payment, which is the school's.
func TestAlipayWrongSellerRejectedQueryFindsPayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: f.Bills[1].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR})
		if err != nil {
			t.Fatal(err)
		}
		f.sim.SetSwitches(alipaysim.Switches{OtherSellerID: true})
		f.payAtAlipay(t, res.QRContent)
		var rec store.Notification
		waitFor(t, func() bool {
			return db.NewSelect().Model(&rec).Where("order_no = ?", o.OrderNo).Limit(1).Scan(ctx) == nil
		})
		if rec.Outcome != "rejected" || !strings.Contains(rec.Error, "merchant_mismatch") || rec.MerchantID == nil || *rec.MerchantID != 1 {
			t.Errorf("notification kept as %q (%s), merchant %v; want rejected for the seller", rec.Outcome, rec.Error, rec.MerchantID)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen {
			t.Fatalf("order after a wrong-seller notification: %s, want open", got.Status)
		}
		f.Clock.Advance(2 * time.Minute)
		if n, err := f.Svc.SyncOpenOrders(ctx); err != nil || n != 1 {
			t.Fatalf("query job paid %d (%v), want 1", n, err)
		}
		if b := f.Bill(t, f.Bills[1].ID); b.Status != store.BillPaid {
			t.Errorf("bill %s after the query job, want paid", b.Status)
		}
	})
}

// A partial, then the rest: each refund goes to Alipay under its own number and settles
// once, whether Alipay's answer, its refund notification or the follow-up query says so.
func TestAlipayPartialThenFullRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		bill := f.Bills[2] // 8000 fen
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: bill.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliPC})
		if err != nil {
			t.Fatal(err)
		}
		f.payAtAlipay(t, res.RedirectURL)
		f.waitOrder(t, o.OrderNo, store.OrderPaid)

		for i, amount := range []int64{3000, 5000} {
			r, err := f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: bill.ID, AmountFen: amount, Reason: "退课", Actor: "finance1"})
			if err != nil {
				t.Fatal(err)
			}
			r, err = f.Svc.ApproveRefund(ctx, r.ID, "finance2", "")
			if err != nil || r.Status != store.RefundSucceeded {
				t.Fatalf("refund %d: %v %v, want succeeded", i+1, r.Status, err)
			}
			// Asked again (the follow-up job), it stays settled once.
			if again, err := f.Svc.SyncRefund(ctx, r.ID, "system"); err != nil || again.Status != store.RefundSucceeded {
				t.Errorf("refund %d synced again: %v %v", i+1, again.Status, err)
			}
		}
		b := f.Bill(t, bill.ID)
		if b.AmountRefundedFen != 8000 || b.Status != store.BillRefunded {
			t.Errorf("bill after both refunds: refunded %d, %s; want 8000, refunded", b.AmountRefundedFen, b.Status)
		}
		// Alipay's refund notifications (if it sends them) reach the same settle: nothing moves.
		waitFor(t, func() bool {
			n, _ := db.NewSelect().Model((*store.Notification)(nil)).Where("outcome = ?", "rejected").Count(ctx)
			return n == 0
		})
	})
}

// Alipay answering garbage: the payer reads that Alipay cannot be used now, finance reads
// the company's failure on the merchant's account, and nothing is left half done — the
// order is still open for another way, the failed attempt closed.
func TestAlipayGarbageTellsPayerAndFinance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		f.sim.SetSwitches(alipaysim.Switches{Garbage: true})
		_, attempt, _, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR})
		if err == nil || !strings.Contains(err.Error(), "支付宝暂时无法使用，请稍后或换用其他方式") {
			t.Fatalf("Pay against garbage: %v; want the payer's message", err)
		}
		acc, err := f.Svc.Merchants.Account(ctx, store.DefaultMerchantID, alipay.Name)
		if err != nil || acc.LastError == "" || acc.LastErrorAt == nil {
			t.Errorf("merchant account after the failure: %+v, %v; want the last error recorded", acc, err)
		}
		attempts, _ := f.Svc.Attempts(ctx, o.ID)
		if len(attempts) != 1 || attempts[0].ID != attempt.ID || attempts[0].Status != store.AttemptClosed {
			t.Errorf("attempts %+v; want the failed one closed", attempts)
		}
		if got, _ := f.Svc.Order(ctx, o.OrderNo); got.Status != store.OrderOpen || f.Bill(t, f.Bills[0].ID).AmountPaidFen != 0 {
			t.Errorf("order %s after the failure, want open and nothing credited", got.Status)
		}
		// Alipay back: the next attempt works.
		f.sim.SetSwitches(alipaysim.Switches{})
		if _, next, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR}); err != nil || res.QRContent == "" || next.Seq != 2 {
			t.Errorf("after Alipay is back: %+v, %v", next, err)
		}
	})
}

// Expiry closes every open attempt: at Alipay (the scanned QR trade is closed there) and
// here, and releases the bill.
func TestAlipayExpiryClosesEveryAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newAlipayFixture(t, db)
		o, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: alipay.Name, Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		_, qr, res, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliQR})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := http.Get(res.QRContent); err == nil { // scanned, not paid
			resp.Body.Close()
		}
		if _, _, _, err := f.Svc.Pay(ctx, o.OrderNo, billing.PayArgs{Way: channel.WayAliWAP}); err != nil {
			t.Fatal(err)
		}
		f.Clock.Advance(16 * time.Minute)
		if n, err := f.Svc.ExpireOrders(ctx); err != nil || n != 1 {
			t.Fatalf("expired %d (%v), want 1", n, err)
		}
		attempts, _ := f.Svc.Attempts(ctx, o.ID)
		for _, a := range attempts {
			if a.Status != store.AttemptClosed {
				t.Errorf("attempt %s is %s after expiry, want closed", a.AttemptNo, a.Status)
			}
		}
		gw, _ := f.Svc.GatewayFor(ctx, alipay.Name, store.DefaultMerchantID)
		if tr, err := gw.Provider.Query(ctx, channel.TradeRef{AttemptNo: qr.AttemptNo}); err != nil || tr.Status != channel.TradeClosed {
			t.Errorf("the scanned QR trade at Alipay: %v %v, want closed", tr.Status, err)
		}
		if b := f.Bill(t, f.Bills[0].ID); b.HeldByOrderID != nil {
			t.Errorf("bill still held by order %d after expiry", *b.HeldByOrderID)
		}
	})
}
