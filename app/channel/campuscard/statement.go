package campuscard

import (
	"bytes"
	"context"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/stmtcsv"
)

var (
	_ channel.StatementSource = (*Channel)(nil)
	_ channel.StatementParser = (*Channel)(nil)
	_ channel.Capable         = (*Channel)(nil)
)

// Capabilities says what the campus card can do: a synchronous debit with the card's
// password, for signed-in cardholders only. Its settlements reach the school's bank
// account as CAMPUSCARD, 一卡通 or 校园卡.
func (c *Channel) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Label:             "校园卡",
		Ways:              []channel.Way{channel.WayCard},
		Synchronous:       true,
		NeedsPassword:     true,
		PartialRefund:     true,
		SettlementMarkers: []string{"CAMPUSCARD", "一卡通", "校园卡"},
	}
}

// Statement fetches the card system's statement of the business day (Asia/Shanghai)
// that contains day, checks it against its own summary and returns its lines with the file.
func (c *Channel) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	name, raw, err := c.statementFile(ctx, day)
	if err != nil {
		return channel.Statement{}, err
	}
	st, err := ParseStatement(raw)
	st.FileName = name
	return st, err
}

// ParseStatement reads an uploaded card statement file (see ParseStatement).
func (c *Channel) ParseStatement(raw []byte) (channel.Statement, error) { return ParseStatement(raw) }

var statementHeader = []string{"kind", "txn_no", "card_no", "holder_no", "out_no", "amount_fen", "time"}

// ParseStatement reads the campus card system's daily statement (format:
// app/sim/campuscard/sim.go):
//
//	kind,txn_no,card_no,holder_no,out_no,amount_fen,time
//	debit,D…,C2024001,2024001,P20260314000001,1250,2026-03-14T09:30:00+08:00
//	refund,R…,C2024001,2024001,RF2026031400001,250,2026-03-14T10:00:00+08:00
//	SUMMARY,<debit_count>,<debit_fen>,<refund_count>,<refund_fen>,<net_fen>
//
// A debit is a payment (TradeNo the card system's txn_no, AttemptNo ours); a refund line
// carries in out_no the platform's own refund number (RefundNo) and the card system's
// txn_no as its trade number. The card system charges no fee. Any fault refuses the file
// whole with a *channel.StatementError.
func ParseStatement(raw []byte) (channel.Statement, error) {
	st := channel.Statement{Raw: raw, Lines: stmtcsv.Lines(raw)}
	var debits, refunds int
	var debitFen, refundFen int64
	err := stmtcsv.Read(bytes.NewReader(raw), statementHeader, func(line int, rec []string, _ string) error {
		if len(rec) != len(statementHeader) {
			return stmtcsv.Fault(line, "应有 7 列")
		}
		l := channel.StatementLine{Line: line, TradeNo: rec[1]}
		switch rec[0] {
		case "debit":
			l.Kind, l.AttemptNo = channel.StatementPayment, rec[4]
			debits++
			if err := stmtcsv.Number(line, "订单号", rec[4], stmtcsv.OrderRe); err != nil {
				return err
			}
		case "refund":
			l.Kind, l.RefundNo = channel.StatementRefund, rec[4]
			refunds++
			if err := stmtcsv.Number(line, "退款号", rec[4], stmtcsv.NumberRe); err != nil {
				return err
			}
		default:
			return stmtcsv.Fault(line, "类型「"+stmtcsv.Clip(rec[0])+"」应为 debit 或 refund")
		}
		if err := stmtcsv.Number(line, "流水号", rec[1], stmtcsv.NumberRe); err != nil {
			return err
		}
		if len(rec[2]) > 32 || len(rec[3]) > 32 {
			return stmtcsv.Fault(line, "卡号或持卡人编号过长")
		}
		var err error
		if l.AmountFen, err = stmtcsv.Fen(line, "金额", rec[5], true); err != nil {
			return err
		}
		if l.At, err = stmtcsv.Instant(line, rec[6]); err != nil {
			return err
		}
		if l.Kind == channel.StatementPayment {
			debitFen += l.AmountFen
		} else {
			refundFen += l.AmountFen
		}
		st.Lines = append(st.Lines, l)
		return nil
	}, func(line int, rec []string) error {
		if len(rec) != 6 {
			return stmtcsv.Fault(line, "汇总行应为 SUMMARY,扣款笔数,扣款金额,退款笔数,退款金额,净额")
		}
		return stmtcsv.CheckSummary(line, rec,
			stmtcsv.CountField(1, "扣款笔数", debits), stmtcsv.CountField(3, "退款笔数", refunds),
			stmtcsv.FenField(2, "扣款金额", debitFen), stmtcsv.FenField(4, "退款金额", refundFen),
			stmtcsv.FenField(5, "净额", debitFen-refundFen))
	})
	if err != nil {
		return channel.Statement{Raw: raw}, err
	}
	return st, nil
}
