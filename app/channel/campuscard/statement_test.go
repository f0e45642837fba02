package campuscard_test

import (
	"errors"
	"strings"
	"testing"

	"campuspay/app/channel"
	"campuspay/app/channel/campuscard"
)

const statementOK = "kind,txn_no,card_no,holder_no,out_no,amount_fen,time\n" +
	"debit,D1a2b3c4d5e6f7a8b,C2024001,2024001,P20260314000001,1250,2026-03-14T09:30:00+08:00\n" +
	"refund,R1a2b3c4d5e6f7a8b,C2024001,2024001,RF2026031400001,250,2026-03-14T10:00:00+08:00\n" +
	"SUMMARY,1,1250,1,250,1000\n"

func TestParseStatement(t *testing.T) {
	st, err := campuscard.ParseStatement([]byte(statementOK))
	if err != nil {
		t.Fatal(err)
	}
	var gross, fees, refunds int64
	for _, l := range st.Lines {
		if l.Kind == channel.StatementPayment {
			gross += l.AmountFen
		} else {
			refunds += l.AmountFen
		}
		fees += l.FeeFen
	}
	if len(st.Lines) != 2 || gross != 1250 || refunds != 250 || fees != 0 || gross-fees-refunds != 1000 {
		t.Errorf("totals = %d lines, gross %d, fees %d, refunds %d", len(st.Lines), gross, fees, refunds)
	}
	if l := st.Lines[0]; l.Kind != channel.StatementPayment || l.AttemptNo != "P20260314000001" || l.TradeNo != "D1a2b3c4d5e6f7a8b" || l.Line != 2 {
		t.Errorf("debit = %+v", l)
	}
	// The card system names a refund by our own refund number (out_no).
	if l := st.Lines[1]; l.Kind != channel.StatementRefund || l.RefundNo != "RF2026031400001" || l.ChannelRefundNo != "" || l.AttemptNo != "" {
		t.Errorf("refund = %+v, want our refund number from out_no", l)
	}
	tests := []struct {
		name, text string
		line       int
		reason     string
	}{
		{"debit count", strings.Replace(statementOK, "SUMMARY,1,1250", "SUMMARY,2,1250", 1), 4, "扣款笔数"},
		{"refund fen", strings.Replace(statementOK, ",250,1000", ",251,1000", 1), 4, "退款金额"},
		{"net", strings.Replace(statementOK, ",250,1000", ",250,1001", 1), 4, "净额"},
		{"kind", strings.Replace(statementOK, "debit,D1", "charge,D1", 1), 2, "debit 或 refund"},
		{"negative", strings.Replace(statementOK, ",1250,2026", ",-1250,2026", 1), 2, "大于 0"},
	}
	for _, tt := range tests {
		_, err := campuscard.ParseStatement([]byte(tt.text))
		var se *channel.StatementError
		if !errors.As(err, &se) || se.Line != tt.line || !strings.Contains(se.Reason, tt.reason) {
			t.Errorf("%s: ParseStatement = %v, want line %d mentioning %q", tt.name, err, tt.line, tt.reason)
		}
	}
}

// FuzzParseStatement: a file is refused with a line and a reason, or read into lines that
// each make sense.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(statementOK))
	f.Add([]byte(strings.Replace(statementOK, "1250,1,250", "1250,2,250", 1)))
	f.Add([]byte("kind,txn_no,card_no,holder_no,out_no,amount_fen,time\nSUMMARY,0,0,0,0,0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := campuscard.ParseStatement(data)
		if err != nil {
			var se *channel.StatementError
			if !errors.As(err, &se) || se.Line < 1 || se.Reason == "" {
				t.Fatalf("error %v is not a *channel.StatementError with a line", err)
			}
			return
		}
		for _, l := range st.Lines {
			if l.AmountFen <= 0 || l.Line < 2 || l.FeeFen != 0 || l.TradeNo == "" || l.ChannelRefundNo != "" ||
				(l.Kind == channel.StatementRefund) != (l.RefundNo != "") || (l.Kind == channel.StatementPayment) != (l.AttemptNo != "") {
				t.Fatalf("line %+v accepted", l)
			}
		}
	})
}
