package unionpay

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
)

func TestBusinessDayEndsAt23(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 4, 0, 0, 0, 0, beijing), "2026-03-04"},
		{time.Date(2026, 3, 4, 22, 59, 59, 0, beijing), "2026-03-04"},
		{time.Date(2026, 3, 4, 23, 0, 0, 0, beijing), "2026-03-05"},
		{time.Date(2026, 3, 4, 23, 30, 0, 0, beijing), "2026-03-05"},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, beijing), "2027-01-01"},
		{time.Date(2026, 3, 4, 15, 30, 0, 0, time.UTC), "2026-03-05"}, // 23:30 in Beijing
	} {
		if got := BusinessDay(tc.at).Format("2006-01-02"); got != tc.want {
			t.Errorf("BusinessDay(%v) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestRefundTxnTypeIsDecidedInOnePlace(t *testing.T) {
	before := time.Date(2026, 3, 4, 22, 59, 0, 0, beijing)
	after := time.Date(2026, 3, 4, 23, 1, 0, 0, beijing)
	for _, tc := range []struct {
		settle string
		at     time.Time
		whole  bool
		want   string
	}{
		{"0304", before, true, "31"},
		{"0304", before, false, "04"},
		{"0304", after, true, "04"},
		{"0305", after, true, "31"}, // paid after the cut on the 4th, refunded 2 minutes later
		{"", before, true, "04"},
	} {
		if got := refundTxnType(tc.settle, tc.at, tc.whole); got != tc.want {
			t.Errorf("refundTxnType(%q, %v, %v) = %s, want %s", tc.settle, tc.at, tc.whole, got, tc.want)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	got, err := parseAnswer("respCode=00&reserved={a=1&b=2}&signPubKeyCert=-----BEGIN CERTIFICATE-----\nMI+/=\n-----END CERTIFICATE-----&x=")
	if err != nil {
		t.Fatal(err)
	}
	if got["respCode"] != "00" || got["reserved"] != "{a=1&b=2}" || !strings.Contains(got["signPubKeyCert"], "MI+/=") || got["x"] != "" {
		t.Errorf("parseAnswer = %q", got)
	}
	if got, err := parseAnswer("a=}&b=1"); err != nil || got["a"] != "}" || got["b"] != "1" {
		t.Errorf("a stray brace: %q, %v", got, err)
	}
	for _, bad := range []string{"", "<html>", "=1", "a=1&a=2", "a={1&b=2"} {
		if _, err := parseAnswer(bad); err == nil {
			t.Errorf("parseAnswer(%q) accepted", bad)
		}
	}
}

func TestFileURLIsDerivedFromTheGateway(t *testing.T) {
	for gw, want := range map[string]string{
		"https://gateway.95516.com":          "https://filedownload.95516.com/",
		"https://gateway.test.95516.com/":    "https://filedownload.test.95516.com/",
		"http://127.0.0.1:8080/sim/unionpay": "http://127.0.0.1:8080/sim/unionpay/filedownload/",
	} {
		u, err := parseBaseURL(gw)
		if err != nil {
			t.Fatal(err)
		}
		if got := fileURLFor(u).String(); got != want {
			t.Errorf("fileURLFor(%s) = %s, want %s", gw, got, want)
		}
	}
}

// zmLine builds a line of the layout for the parser's tests and seeds.
func zmLine(vals map[string]string) string {
	b := []byte(strings.Repeat(" ", zmWidth))
	for name, v := range vals {
		copy(b[zmOffset[name][0]:zmOffset[name][1]], v)
	}
	return string(b)
}

const testMer = "777290058110048"

func payLine(order, qid, mmddhhmmss string, fen, fee int64) string {
	return zmLine(map[string]string{"交易代码": "S22", "交易传输时间": mmddhhmmss, "交易金额": fmt.Sprintf("%012d", fen),
		"查询流水号": qid, "商户订单号": order, "商户手续费": fmt.Sprintf("D%012d", fee), "结算金额": fmt.Sprintf("C%012d", fen),
		"交易类型": "01", "商户代码": testMer, "清算净额": fmt.Sprintf("C%012d", fen-fee), "二级商户简称": "财务处"})
}

func refundLine(order, qid, origOrder, origQid, mmddhhmmss string, fen, fee int64) string {
	return zmLine(map[string]string{"交易代码": "S30", "交易传输时间": mmddhhmmss, "交易金额": fmt.Sprintf("%012d", fen),
		"查询流水号": qid, "商户订单号": order, "商户手续费": fmt.Sprintf("C%012d", fee), "结算金额": fmt.Sprintf("D%012d", fen),
		"交易类型": "04", "商户代码": testMer, "清算净额": fmt.Sprintf("D%012d", fen-fee),
		"原交易查询流水号": origQid, "原始交易订单号": origOrder})
}

var day5 = time.Date(2026, 3, 5, 0, 0, 0, 0, beijing)

func TestParseStatement(t *testing.T) {
	good := payLine("A20260304S002", "260304233000000000001", "0304233000", 2500, 14) + "\r\n" +
		refundLine("R20260305S0011", "260305090000000000002", "A20260304S001", "260304100000000000003", "0305090000", 4000, 22) + "\r\n"
	lines, err := ParseStatement([]byte(good), testMer, day5)
	if err != nil {
		t.Fatal(err)
	}
	want := []channel.StatementLine{
		{Kind: channel.StatementPayment, AttemptNo: "A20260304S002", TradeNo: "260304233000000000001", AmountFen: 2500, FeeFen: 14,
			At: time.Date(2026, 3, 4, 23, 30, 0, 0, beijing).UTC()},
		{Kind: channel.StatementRefund, AttemptNo: "A20260304S001", TradeNo: "260304100000000000003", RefundNo: "R20260305S0011",
			ChannelRefundNo: "260305090000000000002", AmountFen: 4000, FeeFen: -22, At: time.Date(2026, 3, 5, 9, 0, 0, 0, beijing).UTC()},
	}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Errorf("ParseStatement = %+v\nwant %+v", lines, want)
	}
	if l, err := ParseStatement(nil, testMer, day5); err != nil || len(l) != 0 {
		t.Errorf("empty file = %v, %v; want no lines", l, err)
	}

	p := payLine("A20260304S002", "260304233000000000001", "0304233000", 2500, 14)
	for name, bad := range map[string]string{
		"net off by a fen":         strings.Replace(p, fmt.Sprintf("C%012d", 2486), fmt.Sprintf("C%012d", 2487), 1),
		"before the day":           payLine("A20260304S002", "260304225900000000001", "0304225900", 2500, 14),
		"at the cut":               payLine("A20260304S002", "260305230000000000001", "0305230000", 2500, 14),
		"another merchant":         strings.Replace(p, testMer, "898000000000001", 1),
		"short line":               p[:len(p)-1],
		"no separator":             p[:3] + "X" + p[4:],
		"zero amount":              payLine("A20260304S002", "260304233000000000001", "0304233000", 0, 0),
		"unknown txnType":          strings.Replace(p, " 01 ", " 79 ", 1),
		"listed twice":             p + "\n" + p,
		"blank line in the middle": p + "\n\n" + p,
	} {
		if _, err := ParseStatement([]byte(bad), testMer, day5); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
