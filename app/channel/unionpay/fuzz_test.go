package unionpay

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
)

// FuzzNotificationDecoder runs the form reader and decoder a notification goes through
// after its signature (fuzzed bytes cannot carry a valid one). It must never panic, and a
// paid or refund notice it accepts must name its order and a positive amount.
func FuzzNotificationDecoder(f *testing.F) {
	base := url.Values{"version": {"5.1.0"}, "signMethod": {"01"}, "signature": {"c2ln"}, "signPubKeyCert": {"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"},
		"txnType": {"01"}, "respCode": {"00"}, "merId": {testMer}, "orderId": {"A20260304N001"}, "txnTime": {"20260304100000"},
		"txnAmt": {"4200"}, "queryId": {"260304100500000000001"}, "traceTime": {"0304100500"}}
	f.Add(base.Encode())
	refund := url.Values{}
	for k, v := range base {
		refund[k] = v
	}
	refund.Set("txnType", "04")
	refund.Set("origQryId", "260304100500000000001")
	f.Add(refund.Encode())
	f.Add(strings.Replace(base.Encode(), "respCode=00", "respCode=01", 1))
	f.Add(strings.Replace(base.Encode(), "txnAmt=4200", "txnAmt=-1", 1))
	f.Add(strings.Replace(base.Encode(), "traceTime=0304100500", "traceTime=1399999999", 1))
	f.Add(base.Encode() + "&txnAmt=1")
	f.Add("%zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		fields, err := parseNotification([]byte(body))
		if err != nil {
			return
		}
		n, err := decodeNotice(fields, body)
		if err != nil {
			return
		}
		switch n.Kind {
		case channel.NoticePaid:
			if n.Trade.OrderNo == "" || n.Trade.AmountFen <= 0 || n.Trade.TradeNo == "" || n.Trade.PaidAt.IsZero() {
				t.Fatalf("accepted a paid notice without order, amount or time: %+v", n.Trade)
			}
		case channel.NoticeRefund:
			if n.Refund.RefundNo == "" || n.Refund.AmountFen <= 0 || n.Refund.Status == "" {
				t.Fatalf("accepted a refund notice without number or amount: %+v", n.Refund)
			}
		}
	})
}

// FuzzParseStatement must never panic, and every line it accepts must fit the layout: a
// positive amount, the merchant's own line, inside the clearing day.
func FuzzParseStatement(f *testing.F) {
	p := payLine("A20260304S002", "260304233000000000001", "0304233000", 2500, 14)
	r := refundLine("R20260305S0011", "260305090000000000002", "A20260304S001", "260304100000000000003", "0305090000", 4000, 22)
	f.Add([]byte(p + "\r\n" + r + "\r\n"))
	f.Add([]byte(p))
	f.Add([]byte(strings.Replace(p, "C000000002486", "C000000002487", 1)))
	f.Add([]byte(p[:100]))
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseStatement(data, testMer, day5)
		if err != nil {
			return
		}
		start, end := day5.Add(-time.Hour), day5.Add(23*time.Hour)
		for _, l := range lines {
			if l.AmountFen <= 0 || l.AttemptNo == "" || l.TradeNo == "" || l.At.Before(start) || !l.At.Before(end) {
				t.Fatalf("accepted a malformed line: %+v", l)
			}
			if l.Kind == channel.StatementRefund && (l.RefundNo == "" || l.ChannelRefundNo == "") {
				t.Fatalf("accepted a refund line without numbers: %+v", l)
			}
		}
	})
}
