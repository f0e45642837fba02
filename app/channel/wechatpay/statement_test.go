package wechatpay_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wxsim "campuspay/app/sim/wechatpay"
)

func TestStatement(t *testing.T) {
	e := newEnv(t)
	e.paid(t, "WXS0001", 1000)
	e.paid(t, "WXS0002", 1)
	if _, err := e.p.Refund(ctx, refundCall(e, "WXS0001", "RS0001", 400, 1000)); err != nil {
		t.Fatal(err)
	}
	if r := e.next(t); r.err != nil || r.notice.Refund.Status != channel.RefundSucceeded {
		t.Fatalf("refund notice: %+v, %v", r.notice, r.err)
	}
	q1, _ := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXS0001"})
	q2, _ := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXS0002"})

	for _, bom := range []bool{false, true} {
		if err := e.sim.SetSwitches(wxsim.Switches{BillBOM: bom}); err != nil {
			t.Fatal(err)
		}
		st, err := e.p.Statement(ctx, time.Now())
		if err != nil {
			t.Fatalf("Statement (BOM %v): %v", bom, err)
		}
		day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		if st.FileName != "wechatpay-tradebill-"+e.values["mchid"]+"-"+day+".csv.gz" || len(st.Raw) == 0 {
			t.Errorf("file %q of %d bytes", st.FileName, len(st.Raw))
		}
		zr, err := gzip.NewReader(bytes.NewReader(st.Raw))
		if err != nil {
			t.Fatalf("Raw is not the gzip as downloaded: %v", err)
		}
		plain, _ := io.ReadAll(zr)
		if !strings.Contains(string(plain), "`WXS0001") || !strings.Contains(string(plain), "\r\n") {
			t.Errorf("raw bill = %q", plain)
		}
		want := map[string]channel.StatementLine{
			"payment WXS0001": {Kind: channel.StatementPayment, AttemptNo: "WXS0001", TradeNo: q1.TradeNo, AmountFen: 1000, FeeFen: 6},
			"payment WXS0002": {Kind: channel.StatementPayment, AttemptNo: "WXS0002", TradeNo: q2.TradeNo, AmountFen: 1, FeeFen: 0},
			"refund WXS0001":  {Kind: channel.StatementRefund, AttemptNo: "WXS0001", TradeNo: q1.TradeNo, RefundNo: "RS0001", AmountFen: 400, FeeFen: -2},
		}
		if len(st.Lines) != len(want) {
			t.Fatalf("lines = %+v", st.Lines)
		}
		for _, l := range st.Lines {
			w, ok := want[string(l.Kind)+" "+l.AttemptNo]
			if !ok || l.At.Location() != time.UTC || time.Since(l.At) > time.Minute {
				t.Errorf("unexpected line %+v", l)
				continue
			}
			if l.Kind == channel.StatementRefund && l.ChannelRefundNo == "" {
				t.Errorf("refund line without WeChat's refund number: %+v", l)
			}
			l.At, l.ChannelRefundNo = time.Time{}, ""
			if l != w {
				t.Errorf("line = %+v, want %+v", l, w)
			}
		}
	}

	for _, tamper := range []string{"hash", "totals"} {
		t.Run("tampered "+tamper, func(t *testing.T) {
			if err := e.sim.SetSwitches(wxsim.Switches{BillTamper: tamper}); err != nil {
				t.Fatal(err)
			}
			st, err := e.p.Statement(ctx, time.Now())
			if !errors.Is(err, wechatpay.ErrBadStatement) || len(st.Lines) != 0 {
				t.Errorf("Statement = %d lines, %v; want ErrBadStatement", len(st.Lines), err)
			}
		})
	}
	_ = e.sim.SetSwitches(wxsim.Switches{})

	t.Run("a day without trades", func(t *testing.T) {
		st, err := e.p.Statement(ctx, time.Now().AddDate(0, 0, -3))
		if err != nil || len(st.Lines) != 0 || st.Raw != nil {
			t.Errorf("Statement = %+v, %v; want an empty statement", st, err)
		}
	})
}

// bill builds a trade bill the way WeChat lays it out.
func bill(rows []string, summary string) string {
	header := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	out := header + "\r\n"
	for _, r := range rows {
		out += r + "\r\n"
	}
	return out + "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" + summary + "\r\n"
}

const (
	payRow    = "`2026-12-03 09:15:02,`wx8888888888888888,`1900000109,`,`,`4200000001202612030000000001,`A20261203001,`oUser,`NATIVE,`SUCCESS,`OTHERS,`CNY,`1234.50,`0.00,`0,`0,`0.00,`0.00,`,`,`学费,`,`7.41,`0.60%,`1234.50,`0.00,`"
	refundRow = "`2026-12-03 10:00:00,`wx8888888888888888,`1900000109,`,`,`4200000001202612030000000001,`A20261203001,`oUser,`NATIVE,`REFUND,`OTHERS,`CNY,`1234.50,`0.00,`50300000012026120300000001,`R1,`100.00,`0.00,`ORIGINAL,`SUCCESS,`学费,`,`-0.60,`0.60%,`1234.50,`100.00,`"
	goodSum   = "`2,`1234.50,`100.00,`0.00,`6.81,`1234.50,`100.00"
)

func TestParseTradeBill(t *testing.T) {
	good := bill([]string{payRow, refundRow}, goodSum)
	lines, err := wechatpay.ParseTradeBill([]byte(good))
	if err != nil {
		t.Fatalf("good bill: %v", err)
	}
	at := time.Date(2026, 12, 3, 1, 15, 2, 0, time.UTC)
	if len(lines) != 2 || lines[0] != (channel.StatementLine{Kind: channel.StatementPayment, AttemptNo: "A20261203001",
		TradeNo: "4200000001202612030000000001", AmountFen: 123450, FeeFen: 741, At: at}) ||
		lines[1].Kind != channel.StatementRefund || lines[1].RefundNo != "R1" || lines[1].AmountFen != 10000 ||
		lines[1].FeeFen != -60 || lines[1].ChannelRefundNo != "50300000012026120300000001" {
		t.Errorf("lines = %+v", lines)
	}
	for name, variant := range map[string]string{
		"BOM":      "\uFEFF" + good,
		"LF only":  strings.ReplaceAll(good, "\r\n", "\n"),
		"no final": strings.TrimSuffix(good, "\r\n"),
	} {
		if l, err := wechatpay.ParseTradeBill([]byte(variant)); err != nil || len(l) != 2 {
			t.Errorf("%s: %d lines, %v", name, len(l), err)
		}
	}
	if l, err := wechatpay.ParseTradeBill([]byte(bill(nil, "`0,`0.00,`0.00,`0.00,`0.00,`0.00,`0.00"))); err != nil || len(l) != 0 {
		t.Errorf("a bill with no rows: %v, %v", l, err)
	}

	bad := map[string]string{
		"count off":          bill([]string{payRow, refundRow}, strings.Replace(goodSum, "`2,", "`3,", 1)),
		"settled total off":  bill([]string{payRow, refundRow}, strings.Replace(goodSum, "`1234.50,`100.00,`0.00", "`1234.51,`100.00,`0.00", 1)),
		"refund total off":   bill([]string{payRow, refundRow}, strings.Replace(goodSum, "`1234.50,`100.00,`0.00", "`1234.50,`99.99,`0.00", 1)),
		"fee total off":      bill([]string{payRow, refundRow}, strings.Replace(goodSum, "`6.81", "`7.41", 1)),
		"missing row":        bill([]string{payRow}, goodSum),
		"no backtick":        bill([]string{strings.ReplaceAll(payRow, "`", "")}, goodSum),
		"26 columns":         bill([]string{strings.TrimSuffix(payRow, ",`")}, goodSum),
		"amount with float":  bill([]string{strings.Replace(payRow, "`1234.50,`0.00,`0,", "`1.2345e3,`0.00,`0,", 1)}, goodSum),
		"one decimal":        bill([]string{strings.Replace(payRow, "`7.41", "`7.4", 1)}, goodSum),
		"unknown state":      bill([]string{strings.Replace(payRow, "`SUCCESS", "`PAID", 1)}, goodSum),
		"bad time":           bill([]string{strings.Replace(payRow, "2026-12-03 09:15:02", "2026/12/03 09:15", 1)}, goodSum),
		"no summary":         strings.Split(good, "总交易单数")[0],
		"text after summary": good + "`extra\r\n",
		"wrong header":       strings.Replace(good, "交易时间,公众账号ID", "时间,公众账号ID", 1),
		"empty":              "",
		"zero payment":       bill([]string{strings.ReplaceAll(payRow, "1234.50", "0.00")}, "`1,`0.00,`0.00,`0.00,`7.41,`0.00,`0.00"),
	}
	for name, b := range bad {
		if l, err := wechatpay.ParseTradeBill([]byte(b)); !errors.Is(err, wechatpay.ErrBadStatement) {
			t.Errorf("%s: %d lines, %v; want ErrBadStatement", name, len(l), err)
		}
	}
}
