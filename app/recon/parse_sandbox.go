package recon

import (
	"io"
)

var sandboxHeader = []string{"type", "trade_no", "out_trade_no", "refund_no", "amount_fen", "fee_fen", "time"}

// ParseSandbox reads the sandbox's daily statement (format: app/sim/sandbox/doc.go):
//
//	type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time
//	PAY,SB…,A1001,,12345,74,2024-09-01T08:30:00+08:00
//	REFUND,SB…,A1001,SR…,2000,0,2024-09-01T10:00:00+08:00
//	SUMMARY,<count>,<gross_fen>,<fees_fen>,<refunds_fen>,<net_fen>
//
// A PAY line becomes a pay line (TradeNo the gateway's trade, OrderNo ours, FeeFen the
// gateway's fee); a REFUND line a refund line whose RefundNo is the gateway's refund
// number (what the platform keeps as refunds.channel_refund_no). Lines are not required to
// fall inside the day: a provider's cut-off may put a 23:59:59 payment on the next day's
// statement, and matching deals with that.
func ParseSandbox(r io.Reader, emit func(*Line) error) (Summary, error) {
	var sum Summary
	err := csvLines(r, sandboxHeader, func(line int, rec []string, raw string) error {
		if len(rec) != len(sandboxHeader) {
			return &ParseError{Line: line, Reason: "应有 7 列"}
		}
		l := &Line{LineNo: line, TradeNo: rec[1], OrderNo: rec[2], Raw: raw}
		switch rec[0] {
		case "PAY":
			l.Kind = KindPay
			if rec[3] != "" {
				return &ParseError{Line: line, Reason: "支付记录不应有退款号"}
			}
		case "REFUND":
			l.Kind = KindRefund
			if err := number(line, "退款号", rec[3], numberRe); err != nil {
				return err
			}
			l.RefundNo = rec[3]
		default:
			return &ParseError{Line: line, Reason: "类型「" + clip(rec[0]) + "」应为 PAY 或 REFUND"}
		}
		if err := number(line, "渠道交易号", rec[1], numberRe); err != nil {
			return err
		}
		if err := number(line, "商户订单号", rec[2], orderRe); err != nil {
			return err
		}
		var err error
		if l.AmountFen, err = fen(line, "金额", rec[4], true); err != nil {
			return err
		}
		if l.FeeFen, err = fen(line, "手续费", rec[5], false); err != nil {
			return err
		}
		if l.FeeFen > l.AmountFen {
			return &ParseError{Line: line, Reason: "手续费大于交易金额"}
		}
		if l.At, err = instant(line, rec[6]); err != nil {
			return err
		}
		sum.add(l)
		return emit(l)
	}, func(line int, rec []string) error {
		if len(rec) != 6 {
			return &ParseError{Line: line, Reason: "汇总行应为 SUMMARY,笔数,交易总额,手续费,退款总额,净额"}
		}
		return checkSummary(line, rec, countField(1, "笔数", sum.Count),
			fenField(2, "交易总额", sum.GrossFen), fenField(3, "手续费", sum.FeeFen),
			fenField(4, "退款总额", sum.RefundFen), fenField(5, "净额", sum.NetFen))
	})
	return sum, err
}
