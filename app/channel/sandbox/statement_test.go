package sandbox_test

import (
	"errors"
	"strings"
	"testing"

	"campuspay/app/channel"
	"campuspay/app/channel/sandbox"
)

// totals is what a statement's lines add up to: count, gross, fees, refunds, net.
type totals struct{ Count, GrossFen, FeeFen, RefundFen, NetFen int64 }

func totalsOf(st channel.Statement) totals {
	var s totals
	for _, l := range st.Lines {
		s.Count++
		if l.Kind == channel.StatementPayment {
			s.GrossFen += l.AmountFen
		} else {
			s.RefundFen += l.AmountFen
		}
		s.FeeFen += l.FeeFen
	}
	s.NetFen = s.GrossFen - s.FeeFen - s.RefundFen
	return s
}

const statementOK = "type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\n" +
	"PAY,SB20240901083000123456,A1001,,12345,74,2024-09-01T08:30:00+08:00\n" +
	"REFUND,SB20240901083000123456,A1001,SR20240901100000654321,2000,0,2024-09-01T10:00:00+08:00\n" +
	"SUMMARY,2,12345,74,2000,10271\n"

func TestParseStatement(t *testing.T) {
	st, err := sandbox.ParseStatement([]byte(statementOK))
	if err != nil {
		t.Fatal(err)
	}
	if got := totalsOf(st); len(st.Lines) != 2 || got != (totals{Count: 2, GrossFen: 12345, FeeFen: 74, RefundFen: 2000, NetFen: 10271}) {
		t.Fatalf("ParseStatement = %d lines, %+v", len(st.Lines), got)
	}
	if string(st.Raw) != statementOK {
		t.Error("the raw file is not kept as read")
	}
	pay, refund := st.Lines[0], st.Lines[1]
	if pay.Kind != channel.StatementPayment || pay.AttemptNo != "A1001" || pay.TradeNo != "SB20240901083000123456" || pay.FeeFen != 74 || pay.Line != 2 {
		t.Errorf("pay line = %+v", pay)
	}
	// The sandbox names a refund by its own number, never by ours.
	if refund.Kind != channel.StatementRefund || refund.ChannelRefundNo != "SR20240901100000654321" || refund.RefundNo != "" ||
		refund.AmountFen != 2000 || refund.Line != 3 {
		t.Errorf("refund line = %+v", refund)
	}
	if st, err := sandbox.ParseStatement([]byte("type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\nSUMMARY,0,0,0,0,0\n")); err != nil || len(st.Lines) != 0 {
		t.Errorf("empty day: %v %+v", err, st.Lines)
	}
	// The gateway writes a UTF-8 BOM-less file; one with a BOM (re-saved) is still read.
	if _, err := sandbox.ParseStatement([]byte("\ufeff" + statementOK)); err != nil {
		t.Errorf("with BOM: %v", err)
	}
}

func TestParseStatementRejects(t *testing.T) {
	head := "type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\n"
	pay := "PAY,SB1,A1001,,12345,74,2024-09-01T08:30:00+08:00\n"
	tests := []struct {
		name, text string
		line       int
		reason     string
	}{
		{"empty", "", 1, "空"},
		{"wrong header", "kind,a,b\n", 1, "表头"},
		{"no summary", head + pay, 3, "SUMMARY"},
		{"bad type", head + "PAID,SB1,A1001,,1,0,2024-09-01T08:30:00+08:00\nSUMMARY,1,1,0,0,1\n", 2, "PAY 或 REFUND"},
		{"amount words", head + "PAY,SB1,A1001,,12.5,0,2024-09-01T08:30:00+08:00\nSUMMARY,1,1,0,0,1\n", 2, "不是整数"},
		{"zero amount", head + "PAY,SB1,A1001,,0,0,2024-09-01T08:30:00+08:00\nSUMMARY,1,0,0,0,0\n", 2, "大于 0"},
		{"bad time", head + "PAY,SB1,A1001,,100,0,yesterday\nSUMMARY,1,100,0,0,100\n", 2, "RFC 3339"},
		{"short line", head + pay + "PAY,SB2,A1002\nSUMMARY,2,1,1,1,1\n", 3, "7 列"},
		{"refund without number", head + "REFUND,SB1,A1001,,100,0,2024-09-01T08:30:00+08:00\nSUMMARY,1,0,0,100,-100\n", 2, "退款号"},
		{"bad order no", head + "PAY,SB1,A-1001,,100,0,2024-09-01T08:30:00+08:00\nSUMMARY,1,100,0,0,100\n", 2, "商户订单号"},
		{"fee above amount", head + "PAY,SB1,A1001,,100,101,2024-09-01T08:30:00+08:00\nSUMMARY,1,100,101,0,-1\n", 2, "手续费"},
		{"count differs", head + pay + "SUMMARY,2,12345,74,0,12271\n", 3, "笔数"},
		{"gross differs", head + pay + "SUMMARY,1,12346,74,0,12272\n", 3, "交易总额"},
		{"fees differ", head + pay + "SUMMARY,1,12345,75,0,12270\n", 3, "手续费"},
		{"net differs", head + pay + "SUMMARY,1,12345,74,0,99\n", 3, "净额"},
		{"after summary", head + pay + "SUMMARY,1,12345,74,0,12271\n" + pay, 4, "之后"},
		{"broken quote", head + "PAY,\"SB1,A1001\n", 2, "CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sandbox.ParseStatement([]byte(tt.text))
			var se *channel.StatementError
			if !errors.As(err, &se) || !errors.Is(err, channel.ErrMalformed) {
				t.Fatalf("ParseStatement = %v, want a *channel.StatementError (ErrMalformed)", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("ParseStatement = line %d %q, want line %d mentioning %q", se.Line, se.Reason, tt.line, tt.reason)
			}
			if len(st.Lines) != 0 {
				t.Errorf("a refused file hands back %d lines", len(st.Lines))
			}
		})
	}
}

// FuzzParseStatement: a file is refused with a line and a reason, or read into lines that
// each make sense.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(statementOK))
	f.Add([]byte("type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\nSUMMARY,0,0,0,0,0\n"))
	f.Add([]byte(strings.Replace(statementOK, "10271", "10272", 1)))
	f.Add([]byte("type,trade_no\n\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := sandbox.ParseStatement(data)
		if err != nil {
			var se *channel.StatementError
			if !errors.As(err, &se) || se.Line < 1 || se.Reason == "" {
				t.Fatalf("error %v is not a *channel.StatementError with a line", err)
			}
			return
		}
		for _, l := range st.Lines {
			if l.AmountFen <= 0 || l.Line < 2 || l.FeeFen < 0 || l.FeeFen > l.AmountFen || l.TradeNo == "" || l.AttemptNo == "" ||
				(l.Kind == channel.StatementRefund) != (l.ChannelRefundNo != "") || l.RefundNo != "" {
				t.Fatalf("line %+v accepted", l)
			}
		}
	})
}
