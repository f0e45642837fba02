package unionpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"campuspay/app/channel"
)

// Notification verifies and decodes a form POST UnionPay sent to backUrl. A consume
// (txnType 01) that succeeded is NoticePaid; a refund (04) or revoke (31) result is
// NoticeRefund; anything else is acknowledged and ignored. The merchant, order and amount
// are reported as the message states them: the core checks them against its rows.
func (p *provider) Notification(ctx context.Context, header http.Header, body []byte) (channel.Notice, error) {
	f, err := parseNotification(body)
	if err != nil {
		return channel.Notice{}, err
	}
	if err := p.verify(f); err != nil {
		return channel.Notice{}, err
	}
	return decodeNotice(f, string(body))
}

// parseNotification reads the form body strictly: bounded, every field once, the
// fields a signed 5.1.0 message must carry present.
func parseNotification(body []byte) (map[string]string, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("unionpay: %w: "+format, append([]any{channel.ErrMalformed}, a...)...)
	}
	if len(body) == 0 || len(body) > maxAnswer {
		return nil, bad("notification of %d bytes", len(body))
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, bad("not a form: %v", err)
	}
	if len(vals) > maxAnswerFields {
		return nil, bad("%d fields", len(vals))
	}
	f := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, bad("field %q given %d times", k, len(v))
		}
		f[k] = v[0]
	}
	for _, k := range []string{"version", "signMethod", "signature", "signPubKeyCert", "txnType", "respCode", "merId", "orderId", "txnTime"} {
		if f[k] == "" {
			return nil, bad("field %s is missing", k)
		}
	}
	if f["version"] != version {
		return nil, bad("version %q is not %s", f["version"], version)
	}
	return f, nil
}

func decodeNotice(f map[string]string, raw string) (channel.Notice, error) {
	malformed := func(err error) (channel.Notice, error) {
		return channel.Notice{}, fmt.Errorf("unionpay: %w: %v", channel.ErrMalformed, err)
	}
	n := channel.Notice{Raw: raw}
	n.Trade = channel.Trade{OrderNo: f["orderId"], TradeNo: f["queryId"], MerchantNo: f["merId"], Raw: raw}
	switch t, code := f["txnType"], f["respCode"]; t {
	case "01":
		if code != "00" {
			n.Kind, n.Reason = channel.NoticeIgnore, "consume not successful: respCode "+code+" "+f["respMsg"]
			return n, nil
		}
		if err := fillPaid(&n.Trade, f); err != nil {
			return malformed(err)
		}
		n.Kind = channel.NoticePaid
	case txnRefund, txnRevoke:
		r, err := refundResult(f["orderId"], f["queryId"], f["txnAmt"], code, f["respMsg"])
		if err != nil {
			return malformed(err)
		}
		if f["queryId"] == "" {
			return malformed(fmt.Errorf("refund %s: queryId is missing", f["orderId"]))
		}
		// A refund message names the consume only by its queryId; orderId is the refund's.
		n.Kind, n.Refund = channel.NoticeRefund, r
		n.Trade.OrderNo, n.Trade.TradeNo = "", f["origQryId"]
	default:
		n.Kind, n.Reason = channel.NoticeIgnore, "txnType "+t+" is not a payment or refund"
	}
	return n, nil
}

// Ack answers UnionPay: HTTP 200 stops its retries, anything else makes it send again.
func (p *provider) Ack(ok bool, message string) channel.Ack {
	if ok {
		return channel.Ack{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("ok")}
	}
	return channel.Ack{Status: http.StatusInternalServerError, ContentType: "text/plain; charset=utf-8", Body: []byte("fail")}
}
