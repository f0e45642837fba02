package alipay_test

import (
	"context"
	"testing"

	"campuspay/app/channel"
)

// Partial then full refund of a paid attempt, a repeated request, the refund query and
// the refund notification: each refund has one result wherever it is read from.
func TestPartialThenFullRefund(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.scanAndPay(e.pay("A1", channel.WayAliWAP, 10000))
	paid := e.notice(e.next())
	ref := channel.TradeRef{AttemptNo: "A1", TradeNo: paid.Trade.TradeNo}
	call := func(no string, fen int64) channel.RefundCall {
		return channel.RefundCall{Trade: ref, RefundNo: no, AmountFen: fen, TotalFen: 10000, Reason: "退学退费"}
	}

	r1, err := e.p.Refund(ctx, call("R1", 3000))
	if err != nil {
		t.Fatal(err)
	}
	want1 := channel.RefundResult{RefundNo: "R1", ChannelRefundNo: paid.Trade.TradeNo, AmountFen: 3000, Status: channel.RefundSucceeded}
	if r1 != want1 {
		t.Errorf("Refund R1 = %+v, want %+v", r1, want1)
	}
	if c := e.lastCall("alipay.trade.refund"); c.Biz["refund_amount"] != "30.00" || c.Biz["out_request_no"] != "R1" || c.Biz["refund_reason"] != "退学退费" {
		t.Errorf("refund biz_content = %v", c.Biz)
	}
	n1 := e.notice(e.next())
	if n1.Kind != channel.NoticeRefund || n1.Refund != want1 {
		t.Errorf("refund notification = %+v, want %+v", n1.Refund, want1)
	}
	if q, err := e.p.QueryRefund(ctx, call("R1", 3000)); err != nil || q != want1 {
		t.Errorf("QueryRefund R1 = %+v, %v, want %+v", q, err, want1)
	}

	// The same request again: Alipay moves no money (fund_change N); the result is the same.
	again, err := e.p.Refund(ctx, call("R1", 3000))
	if err != nil || again != want1 {
		t.Errorf("Refund R1 again = %+v, %v, want %+v", again, err, want1)
	}

	// The rest: the trade closes, and the notification (TRADE_CLOSED with refund fields) is a refund.
	r2, err := e.p.Refund(ctx, call("R2", 7000))
	if err != nil || r2.Status != channel.RefundSucceeded || r2.AmountFen != 7000 {
		t.Fatalf("Refund R2 = %+v, %v", r2, err)
	}
	body := e.next()
	if st := form(t, body).Get("trade_status"); st != "TRADE_CLOSED" {
		t.Errorf("full refund notification trade_status = %s, want TRADE_CLOSED", st)
	}
	if n2 := e.notice(body); n2.Kind != channel.NoticeRefund || n2.Refund != r2 {
		t.Errorf("refund notification R2 = %+v, want %+v", n2.Refund, r2)
	}
	if got := e.query("A1"); got.Status != channel.TradeClosed {
		t.Errorf("Query after full refund = %s, want closed", got.Status)
	}

	// Nothing is left to refund.
	r3, err := e.p.Refund(ctx, call("R3", 1))
	if err != nil || r3.Status != channel.RefundFailed || r3.Message == "" {
		t.Errorf("Refund beyond the total = %+v, %v, want failed with Alipay's words", r3, err)
	}
	// A refund Alipay never took: the query has no status, which is failure.
	if q, err := e.p.QueryRefund(ctx, call("R9", 100)); err != nil || q.Status != channel.RefundFailed {
		t.Errorf("QueryRefund of an unknown refund = %+v, %v, want failed", q, err)
	}
}

func TestRefundOfUnpaidTradeFails(t *testing.T) {
	e := newEnv(t, false)
	e.hostedPage(e.pay("A1", channel.WayAliWAP, 100))
	r, err := e.p.Refund(context.Background(), channel.RefundCall{Trade: channel.TradeRef{AttemptNo: "A1"}, RefundNo: "R1", AmountFen: 100, TotalFen: 100})
	if err != nil || r.Status != channel.RefundFailed {
		t.Errorf("Refund of a waiting trade = %+v, %v, want failed", r, err)
	}
}
