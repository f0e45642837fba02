package unionpay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/unionpay"
	upsim "campuspay/app/sim/unionpay"
)

func refundCall(e *env, req channel.PayRequest, no string, fen int64) channel.RefundCall {
	return channel.RefundCall{Trade: e.ref(req), RefundNo: no, AmountFen: fen, TotalFen: req.AmountFen,
		Reason: "退课", NotifyURL: e.notifyURL(), CreatedAt: e.clock.Now().UTC()}
}

// waitRefund queries until the refund leaves processing, with a deadline.
func waitRefund(t *testing.T, e *env, call channel.RefundCall) channel.RefundResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := e.prov.QueryRefund(context.Background(), call)
		if err != nil {
			t.Fatalf("QueryRefund: %v", err)
		}
		if r.Status != channel.RefundProcessing {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %s still processing", call.RefundNo)
		}
		time.Sleep(5 * time.Millisecond) // polling the fake's state, not timing a goroutine
	}
}

// skipPaid takes the payment's notification off the door.
func skipPaid(e *env) { e.next() }

func TestPartialThenFullRefund(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.SetSwitches(upsim.Switches{HoldRefunds: true})
	req := e.paid("A20260304R001", 10000)
	skipPaid(e)
	e.clock.Set(bj(2026, 3, 6, 9, 0)) // a later clearing day: refunds, not revokes

	first := refundCall(e, req, "R20260306R0011", 3000)
	r, err := e.prov.Refund(ctx, first)
	if err != nil || r.Status != channel.RefundProcessing || r.ChannelRefundNo == "" || r.AmountFen != 3000 {
		t.Fatalf("Refund = %+v, %v; want processing", r, err)
	}
	if q, err := e.prov.QueryRefund(ctx, first); err != nil || q.Status != channel.RefundProcessing {
		t.Fatalf("QueryRefund while held = %+v, %v", q, err)
	}
	e.sim.FinishRefunds()
	n := e.decode(e.next())
	if n.Kind != channel.NoticeRefund || formOf(t, []byte(n.Raw))["txnType"] != "04" {
		t.Fatalf("notice = %+v; want a refund (04)", n)
	}
	q := waitRefund(t, e, first)
	if n.Refund != q || q.Status != channel.RefundSucceeded || q.RefundNo != first.RefundNo || q.AmountFen != 3000 || q.ChannelRefundNo != r.ChannelRefundNo {
		t.Errorf("notification %+v and query %+v must settle alike", n.Refund, q)
	}

	rest := refundCall(e, req, "R20260306R0012", 7000)
	if r, err := e.prov.Refund(ctx, rest); err != nil || r.Status != channel.RefundProcessing {
		t.Fatalf("second refund = %+v, %v", r, err)
	}
	e.sim.FinishRefunds()
	if n := e.decode(e.next()); n.Refund.Status != channel.RefundSucceeded || n.Refund.AmountFen != 7000 {
		t.Errorf("second refund notice = %+v", n.Refund)
	}

	over := refundCall(e, req, "R20260306R0013", 1)
	if r, err := e.prov.Refund(ctx, over); err != nil || r.Status != channel.RefundFailed || r.Message == "" {
		t.Errorf("refund beyond the amount = %+v, %v; want failed with UnionPay's words", r, err)
	}
}

func TestRepeatedRefundRequestIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.SetSwitches(upsim.Switches{HoldRefunds: true})
	req := e.paid("A20260304R002", 500)
	skipPaid(e)
	e.clock.Set(bj(2026, 3, 5, 9, 0))
	call := refundCall(e, req, "R20260305R0021", 500)
	a, err := e.prov.Refund(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(bj(2026, 3, 5, 9, 30)) // asked again later: same refund number, same first time
	b, err := e.prov.Refund(ctx, call)
	if err != nil || b != a {
		t.Fatalf("repeat = %+v, %v; first %+v", b, err, a)
	}
	if got := e.sim.FinishRefunds(); got != 1 {
		t.Errorf("the fake holds %d refunds, want 1", got)
	}
	// Nothing is left to refund: the repeat did not take money twice.
	if r, err := e.prov.Refund(ctx, refundCall(e, req, "R20260305R0022", 1)); err != nil || r.Status != channel.RefundFailed {
		t.Errorf("another refund after the full one = %+v, %v", r, err)
	}
}

func TestSameDayFullRefundIsARevoke(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refundAt  time.Time
		fen       int64
		wantType  string
		wantState channel.RefundStatus
	}{
		{"same day, whole amount", bj(2026, 3, 4, 22, 59), 800, "31", channel.RefundSucceeded},
		{"same day, part", bj(2026, 3, 4, 22, 59), 300, "04", channel.RefundSucceeded},
		{"after the 23:00 cut", bj(2026, 3, 4, 23, 0), 800, "04", channel.RefundSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := e.paid("A20260304R003", 800)
			skipPaid(e)
			e.clock.Set(tc.refundAt)
			call := refundCall(e, req, "R20260304R0031", tc.fen)
			r, err := e.prov.Refund(context.Background(), call)
			if err != nil || r.Status != channel.RefundProcessing {
				t.Fatalf("Refund = %+v, %v", r, err)
			}
			n := e.decode(e.next())
			if got := formOf(t, []byte(n.Raw))["txnType"]; got != tc.wantType || n.Refund.Status != tc.wantState {
				t.Errorf("txnType %s, status %s; want %s, %s", got, n.Refund.Status, tc.wantType, tc.wantState)
			}
			if q := waitRefund(t, e, call); q != n.Refund {
				t.Errorf("query %+v, notice %+v", q, n.Refund)
			}
		})
	}
}

func TestRefundOfUnpaidAttemptIsRefused(t *testing.T) {
	e := newEnv(t)
	req := e.payReq("A20260304R004", channel.WayUpPC, 100)
	if _, err := e.prov.Pay(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.Refund(context.Background(), refundCall(e, req, "R20260304R0041", 100)); err == nil {
		t.Error("refund of an attempt UnionPay never saw was sent")
	}
}

func TestGatewayRefusesAForeignMerchantKey(t *testing.T) {
	e := newEnv(t)
	other, err := upsim.New("/x", e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	v := copyValues(e.values)
	ov := other.MerchantValues("http://unused")
	v[unionpay.FieldSignPFX], v[unionpay.FieldSignPass] = ov[unionpay.FieldSignPFX], ov[unionpay.FieldSignPass]
	_, err = e.open(v).Query(context.Background(), channel.TradeRef{AttemptNo: "A20260304R005", CreatedAt: e.clock.Now()})
	var re *unionpay.RespError
	if !errors.As(err, &re) || re.Code != "11" || re.Message != "验证签名失败" {
		t.Errorf("err = %v; want respCode 11 验证签名失败", err)
	}
}
