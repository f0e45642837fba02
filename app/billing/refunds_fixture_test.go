package billing_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/store"
)

// refundFake is the fixture's sandbox channel with refunds the test steers: by default it
// refunds at once; answer changes what Refund says, queryAnswer what QueryRefund says.
type refundFake struct {
	*billingtest.FakeChannel
	mu          sync.Mutex
	answer      func(channel.RefundRequest) (channel.RefundResult, error)
	queryAnswer func(orderNo, refundNo string) (channel.RefundResult, error)
	refunded    map[string]int64 // refund number → amount, what the channel returned
	calls       int
}

func newRefundFake(f *billingtest.FakeChannel) *refundFake {
	return &refundFake{FakeChannel: f, refunded: map[string]int64{}}
}

func (r *refundFake) Refund(_ context.Context, req channel.RefundRequest) (channel.RefundResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.answer != nil {
		res, err := r.answer(req)
		if err == nil && res.Status == channel.RefundSucceeded {
			r.refunded[req.RefundNo] = req.AmountFen
		}
		return res, err
	}
	r.refunded[req.RefundNo] = req.AmountFen
	return channel.RefundResult{RefundNo: req.RefundNo, ChannelRefundNo: "SR" + req.RefundNo, AmountFen: req.AmountFen, Status: channel.RefundSucceeded}, nil
}

func (r *refundFake) QueryRefund(_ context.Context, orderNo, refundNo string) (channel.RefundResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queryAnswer != nil {
		return r.queryAnswer(orderNo, refundNo)
	}
	if amount, ok := r.refunded[refundNo]; ok {
		return channel.RefundResult{RefundNo: refundNo, ChannelRefundNo: "SR" + refundNo, AmountFen: amount, Status: channel.RefundSucceeded}, nil
	}
	return channel.RefundResult{}, errors.New("fake: refund not found")
}

// refundFixture is the billing fixture with a second finance user's name and a sandbox that
// refunds.
type refundFixture struct {
	*billingtest.Fixture
	ch *refundFake
}

func newRefundFixture(t *testing.T, db *bun.DB) *refundFixture {
	t.Helper()
	f := billingtest.NewFixture(t, db)
	ch := newRefundFake(f.Fake)
	f.Svc.Channels["sandbox"] = ch
	return &refundFixture{Fixture: f, ch: ch}
}

// pay pays bill i in full (or amountFen of it) through the sandbox and returns the order.
func (f *refundFixture) pay(t *testing.T, i int, amountFen int64, tradeNo string) *store.Order {
	t.Helper()
	o := f.Order(t, billing.LineRequest{BillID: f.Bills[i].ID, AmountFen: amountFen})
	if _, err := f.Svc.ApplyTrade(context.Background(), "sandbox", f.Fake.Paid(o, tradeNo)); err != nil {
		t.Fatal(err)
	}
	return o
}

// receipts returns the receipts of a bill, oldest first, once every receipt has its number.
func (f *refundFixture) receipts(t *testing.T, billID int64) []*store.ReceiptRow {
	t.Helper()
	if err := f.Svc.NumberReceipts(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []*store.ReceiptRow
	if err := f.DB.NewSelect().Model(&rows).Where("bill_id = ?", billID).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rows
}

func (f *refundFixture) request(t *testing.T, i int, amountFen int64, actor string) *store.Refund {
	t.Helper()
	r, err := f.Svc.RequestRefund(context.Background(), billing.RefundRequest{BillID: f.Bills[i].ID, AmountFen: amountFen, Reason: "退学", Actor: actor})
	if err != nil {
		t.Fatalf("RequestRefund(%d) = %v", amountFen, err)
	}
	return r
}

// refundErrCode returns the billing error code of err, or "".
func refundErrCode(err error) string {
	var be *fault.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}
