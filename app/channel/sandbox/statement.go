package sandbox

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

// Capabilities says what the sandbox can do. Its settlements reach the school's bank
// account with "SANDBOX" or 沙箱 in the memo or the payer's name.
func (c *Channel) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Label:             "在线支付（模拟）",
		Ways:              []channel.Way{channel.WaySandbox},
		Guests:            true,
		PartialRefund:     true,
		Simulator:         true,
		SettlementMarkers: []string{"SANDBOX", "沙箱"},
	}
}

// Statement fetches the gateway's statement of the business day (Asia/Shanghai) that
// contains day, checks it against its own summary and returns its lines with the file.
func (c *Channel) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	name, raw, err := c.statementFile(ctx, day)
	if err != nil {
		return channel.Statement{}, err
	}
	st, err := ParseStatement(raw)
	st.FileName = name
	return st, err
}

// ParseStatement reads an uploaded sandbox statement file (see ParseStatement).
func (c *Channel) ParseStatement(raw []byte) (channel.Statement, error) { return ParseStatement(raw) }

var statementHeader = []string{"type", "trade_no", "out_trade_no", "refund_no", "amount_fen", "fee_fen", "time"}

// ParseStatement reads the sandbox's daily statement (format: app/sim/sandbox/doc.go):
//
//	type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time
//	PAY,SB…,A1001,,12345,74,2024-09-01T08:30:00+08:00
//	REFUND,SB…,A1001,SR…,2000,0,2024-09-01T10:00:00+08:00
//	SUMMARY,<count>,<gross_fen>,<fees_fen>,<refunds_fen>,<net_fen>
//
// A PAY line is a payment (TradeNo the gateway's trade, AttemptNo ours, FeeFen the
// gateway's fee); a REFUND line a refund whose refund_no is the gateway's own refund
// number (ChannelRefundNo; the platform learns it when the refund succeeds). Lines are not
// required to fall inside the day: a cut-off may put a 23:59:59 payment on the next day's
// statement, and reconciliation deals with that. Any fault refuses the file whole with a
// *channel.StatementError.
func ParseStatement(raw []byte) (channel.Statement, error) {
	st := channel.Statement{Raw: raw, Lines: stmtcsv.Lines(raw)}
	var gross, fees, refunds int64
	err := stmtcsv.Read(bytes.NewReader(raw), statementHeader, func(line int, rec []string, _ string) error {
		if len(rec) != len(statementHeader) {
			return stmtcsv.Fault(line, "应有 7 列")
		}
		l := channel.StatementLine{Line: line, TradeNo: rec[1], AttemptNo: rec[2]}
		switch rec[0] {
		case "PAY":
			l.Kind = channel.StatementPayment
			if rec[3] != "" {
				return stmtcsv.Fault(line, "支付记录不应有退款号")
			}
		case "REFUND":
			l.Kind = channel.StatementRefund
			if err := stmtcsv.Number(line, "退款号", rec[3], stmtcsv.NumberRe); err != nil {
				return err
			}
			l.ChannelRefundNo = rec[3]
		default:
			return stmtcsv.Fault(line, "类型「"+stmtcsv.Clip(rec[0])+"」应为 PAY 或 REFUND")
		}
		if err := stmtcsv.Number(line, "渠道交易号", rec[1], stmtcsv.NumberRe); err != nil {
			return err
		}
		if err := stmtcsv.Number(line, "商户订单号", rec[2], stmtcsv.OrderRe); err != nil {
			return err
		}
		var err error
		if l.AmountFen, err = stmtcsv.Fen(line, "金额", rec[4], true); err != nil {
			return err
		}
		if l.FeeFen, err = stmtcsv.Fen(line, "手续费", rec[5], false); err != nil {
			return err
		}
		if l.FeeFen > l.AmountFen {
			return stmtcsv.Fault(line, "手续费大于交易金额")
		}
		if l.At, err = stmtcsv.Instant(line, rec[6]); err != nil {
			return err
		}
		if l.Kind == channel.StatementPayment {
			gross += l.AmountFen
		} else {
			refunds += l.AmountFen
		}
		fees += l.FeeFen
		st.Lines = append(st.Lines, l)
		return nil
	}, func(line int, rec []string) error {
		if len(rec) != 6 {
			return stmtcsv.Fault(line, "汇总行应为 SUMMARY,笔数,交易总额,手续费,退款总额,净额")
		}
		return stmtcsv.CheckSummary(line, rec, stmtcsv.CountField(1, "笔数", len(st.Lines)),
			stmtcsv.FenField(2, "交易总额", gross), stmtcsv.FenField(3, "手续费", fees),
			stmtcsv.FenField(4, "退款总额", refunds), stmtcsv.FenField(5, "净额", gross-fees-refunds))
	})
	if err != nil {
		return channel.Statement{Raw: raw}, err
	}
	return st, nil
}
