package recon

import (
	"io"
)

var cardHeader = []string{"kind", "txn_no", "card_no", "holder_no", "out_no", "amount_fen", "time"}

// ParseCard reads the campus card system's daily statement (format:
// app/sim/campuscard/sim.go):
//
//	kind,txn_no,card_no,holder_no,out_no,amount_fen,time
//	debit,D…,C2024001,2024001,P20260314000001,1250,2026-03-14T09:30:00+08:00
//	refund,R…,C2024001,2024001,RF2026031400001,250,2026-03-14T10:00:00+08:00
//	SUMMARY,<debit_count>,<debit_fen>,<refund_count>,<refund_fen>,<net_fen>
//
// A debit becomes a pay line (TradeNo the card system's txn_no, OrderNo ours); a refund
// a refund line whose RefundNo is out_no: the platform's own refund number. Reference
// keeps the card number, Counterparty the holder number. The card system charges no fee.
func ParseCard(r io.Reader, emit func(*Line) error) (Summary, error) {
	var sum Summary
	var debits, refunds int
	err := csvLines(r, cardHeader, func(line int, rec []string, raw string) error {
		if len(rec) != len(cardHeader) {
			return &ParseError{Line: line, Reason: "应有 7 列"}
		}
		l := &Line{LineNo: line, TradeNo: rec[1], Reference: rec[2], Counterparty: rec[3], Raw: raw}
		switch rec[0] {
		case "debit":
			l.Kind, l.OrderNo = KindPay, rec[4]
			debits++
			if err := number(line, "订单号", rec[4], orderRe); err != nil {
				return err
			}
		case "refund":
			l.Kind, l.RefundNo = KindRefund, rec[4]
			refunds++
			if err := number(line, "退款号", rec[4], numberRe); err != nil {
				return err
			}
		default:
			return &ParseError{Line: line, Reason: "类型「" + clip(rec[0]) + "」应为 debit 或 refund"}
		}
		if err := number(line, "流水号", rec[1], numberRe); err != nil {
			return err
		}
		if len(rec[2]) > 32 || len(rec[3]) > 32 {
			return &ParseError{Line: line, Reason: "卡号或持卡人编号过长"}
		}
		var err error
		if l.AmountFen, err = fen(line, "金额", rec[5], true); err != nil {
			return err
		}
		if l.At, err = instant(line, rec[6]); err != nil {
			return err
		}
		sum.add(l)
		return emit(l)
	}, func(line int, rec []string) error {
		if len(rec) != 6 {
			return &ParseError{Line: line, Reason: "汇总行应为 SUMMARY,扣款笔数,扣款金额,退款笔数,退款金额,净额"}
		}
		return checkSummary(line, rec,
			countField(1, "扣款笔数", debits), countField(3, "退款笔数", refunds),
			fenField(2, "扣款金额", sum.GrossFen), fenField(4, "退款金额", sum.RefundFen), fenField(5, "净额", sum.NetFen))
	})
	return sum, err
}
