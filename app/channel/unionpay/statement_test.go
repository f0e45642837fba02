package unionpay_test

import (
	"context"
	"strings"
	"testing"

	"campuspay/app/channel"
	upsim "campuspay/app/sim/unionpay"
)

// The UnionPay day ends at 23:00 Beijing time: a payment at 23:30 on the 4th is in the
// 5th's file, with the refund made on the 5th.
func TestStatementFollowsTheUnionPayDay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.paid("A20260304S001", 10000) // 10:00 on the 4th
	skipPaid(e)
	e.clock.Set(bj(2026, 3, 4, 23, 20))
	bReq := e.payReq("A20260304S002", channel.WayUpWAP, 2500)
	res, err := e.prov.Pay(ctx, bReq)
	if err != nil {
		t.Fatal(err)
	}
	token := e.openPage(res)
	e.clock.Set(bj(2026, 3, 4, 23, 30))
	e.confirm(token)
	skipPaid(e)
	e.clock.Set(bj(2026, 3, 5, 9, 0))
	refund := refundCall(e, a, "R20260305S0011", 4000)
	if _, err := e.prov.Refund(ctx, refund); err != nil {
		t.Fatal(err)
	}
	e.decode(e.next())
	aTrade, _ := e.prov.Query(ctx, e.ref(a))
	bTrade, _ := e.prov.Query(ctx, e.ref(bReq))
	rRes, _ := e.prov.QueryRefund(ctx, refund)

	if _, err := e.prov.Statement(ctx, bj(2026, 3, 5, 0, 0)); err == nil {
		t.Fatal("the 5th's file was served before the 5th's day ended")
	}
	e.clock.Set(bj(2026, 3, 6, 10, 0))

	s4, err := e.prov.Statement(ctx, bj(2026, 3, 4, 0, 0))
	if err != nil {
		t.Fatalf("Statement(4th): %v", err)
	}
	want4 := []channel.StatementLine{{Kind: channel.StatementPayment, AttemptNo: a.AttemptNo, TradeNo: aTrade.TradeNo,
		AmountFen: 10000, FeeFen: 55, At: bj(2026, 3, 4, 10, 0).UTC()}}
	checkLines(t, "4th", s4.Lines, want4)
	if !strings.HasPrefix(s4.FileName, "INN260304") || len(s4.Raw) == 0 {
		t.Errorf("FileName %q, %d raw bytes", s4.FileName, len(s4.Raw))
	}

	s5, err := e.prov.Statement(ctx, bj(2026, 3, 5, 12, 0))
	if err != nil {
		t.Fatalf("Statement(5th): %v", err)
	}
	want5 := []channel.StatementLine{
		{Kind: channel.StatementPayment, AttemptNo: bReq.AttemptNo, TradeNo: bTrade.TradeNo, AmountFen: 2500, FeeFen: 14, At: bj(2026, 3, 4, 23, 30).UTC()},
		{Kind: channel.StatementRefund, AttemptNo: a.AttemptNo, TradeNo: aTrade.TradeNo, RefundNo: refund.RefundNo,
			ChannelRefundNo: rRes.ChannelRefundNo, AmountFen: 4000, FeeFen: -22, At: bj(2026, 3, 5, 9, 0).UTC()},
	}
	checkLines(t, "5th", s5.Lines, want5)
}

func checkLines(t *testing.T, day string, got, want []channel.StatementLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines %+v, want %d", day, len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s line %d = %+v\nwant %+v", day, i+1, got[i], want[i])
		}
	}
}

func TestTamperedStatementIsRefused(t *testing.T) {
	for _, tamper := range []string{"totals", "crc"} {
		t.Run(tamper, func(t *testing.T) {
			e := newEnv(t)
			e.paid("A20260304S003", 10000)
			e.clock.Set(bj(2026, 3, 5, 10, 0))
			e.sim.SetSwitches(upsim.Switches{TamperStatement: tamper})
			_, err := e.prov.Statement(context.Background(), bj(2026, 3, 4, 0, 0))
			wantErr(t, err, channel.ErrMalformed)
		})
	}
}

func TestStatementNotYetMadeIsUnavailable(t *testing.T) {
	e := newEnv(t)
	_, err := e.prov.Statement(context.Background(), bj(2026, 3, 4, 0, 0))
	wantErr(t, err, channel.ErrUnavailable)
	if !strings.Contains(err.Error(), "尚未生成") {
		t.Errorf("message %q does not say the file is not ready", err)
	}
}
