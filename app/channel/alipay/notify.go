package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"campuspay/app/channel"
)

// Notification verifies and decodes Alipay's asynchronous notification: a form POST signed
// with RSA2 over every field but sign and sign_type. A payment notification
// (TRADE_SUCCESS, TRADE_FINISHED) is NoticePaid; a refund one (trade_status_sync carrying
// out_biz_no, refund_fee and gmt_refund) is NoticeRefund; WAIT_BUYER_PAY and TRADE_CLOSED
// are NoticeIgnore. The Trade says what the message claims (app_id, seller_id,
// total_amount): the core checks those against its own rows.
//
// A refund notification carries the trade's cumulative refund_fee, not the amount of the
// refund it announces, so its RefundResult comes from the refund query for out_biz_no —
// the same answer QueryRefund gives.
func (p *provider) Notification(ctx context.Context, _ http.Header, body []byte) (channel.Notice, error) {
	values, err := p.verifyNotification(ctx, body)
	if err != nil {
		return channel.Notice{}, err
	}
	n, err := decodeNotice(values, string(body))
	if err != nil || n.Kind != channel.NoticeRefund {
		return n, err
	}
	r, err := p.QueryRefund(ctx, channel.RefundCall{
		Trade:    channel.TradeRef{AttemptNo: n.Trade.OrderNo, TradeNo: n.Trade.TradeNo},
		RefundNo: n.Refund.RefundNo,
	})
	if err != nil {
		return channel.Notice{}, fmt.Errorf("alipay: refund notification %s: %w", n.Refund.RefundNo, err)
	}
	n.Refund = r
	return n, nil
}

// verifyNotification parses the form and checks its signature with the Alipay key in force
// (in certificate mode a serial the message names must first pass accept).
func (p *provider) verifyNotification(ctx context.Context, body []byte) (url.Values, error) {
	values, err := parseNotificationForm(body)
	if err != nil {
		return nil, err
	}
	if sn := values.Get("alipay_cert_sn"); sn != "" {
		if p.set.mode != modeCert {
			return nil, fmt.Errorf("alipay: notification names certificate %s in public-key mode: %w", sn, channel.ErrBadSignature)
		}
		if err := p.accept(ctx, sn); err != nil {
			return nil, fmt.Errorf("alipay: notification: %v: %w", err, channel.ErrBadSignature)
		}
	}
	if err := p.client.VerifySign(ctx, values); err != nil {
		return nil, fmt.Errorf("alipay: notification for %q: %v: %w", values.Get("out_trade_no"), err, channel.ErrBadSignature)
	}
	return values, nil
}

// parseNotificationForm reads a notification body: a bounded form of single-valued fields
// with a sign and sign_type RSA2.
func parseNotificationForm(body []byte) (url.Values, error) {
	if len(body) > maxNotification {
		return nil, fmt.Errorf("alipay: notification of %d bytes: %w", len(body), channel.ErrMalformed)
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("alipay: notification: %v: %w", err, channel.ErrMalformed)
	}
	for k, vs := range values {
		if len(vs) != 1 {
			return nil, fmt.Errorf("alipay: notification: field %q given %d times: %w", k, len(vs), channel.ErrMalformed)
		}
	}
	if values.Get("sign") == "" {
		return nil, fmt.Errorf("alipay: notification without sign: %w", channel.ErrMalformed)
	}
	if st := values.Get("sign_type"); st != "RSA2" {
		return nil, fmt.Errorf("alipay: notification sign_type %q, want RSA2: %w", st, channel.ErrBadSignature)
	}
	return values, nil
}

// decodeNotice reads a verified notification.
func decodeNotice(v url.Values, raw string) (channel.Notice, error) {
	malformed := func(format string, args ...any) (channel.Notice, error) {
		return channel.Notice{}, fmt.Errorf("alipay: notification: "+format+": %w", append(args, channel.ErrMalformed)...)
	}
	n := channel.Notice{Raw: raw}
	if nt := v.Get("notify_type"); nt != "trade_status_sync" {
		n.Reason = fmt.Sprintf("notify_type %q is not a trade notification", nt)
		return n, nil
	}
	t := channel.Trade{
		OrderNo:    v.Get("out_trade_no"),
		TradeNo:    v.Get("trade_no"),
		AppID:      v.Get("app_id"),
		MerchantNo: v.Get("seller_id"),
		Raw:        raw,
	}
	if !attemptNoPattern.MatchString(t.OrderNo) {
		return malformed("out_trade_no %q", t.OrderNo)
	}
	if t.TradeNo == "" || len(t.TradeNo) > 64 {
		return malformed("trade_no %q", t.TradeNo)
	}
	if t.AppID == "" {
		return malformed("no app_id")
	}
	var err error
	if t.AmountFen, err = parseYuan(v.Get("total_amount")); err != nil || t.AmountFen <= 0 {
		return malformed("total_amount %q", v.Get("total_amount"))
	}
	n.Trade = t

	// A refund notification: Alipay announces it with the trade's status after the refund
	// (TRADE_SUCCESS after a part, TRADE_CLOSED after all), so look for it first.
	if v.Has("out_biz_no") || v.Has("refund_fee") || v.Has("gmt_refund") {
		no := v.Get("out_biz_no")
		if !refundNoPattern.MatchString(no) {
			return malformed("refund notification with out_biz_no %q", no)
		}
		if _, err := parseYuan(v.Get("refund_fee")); err != nil {
			return malformed("refund_fee %q", v.Get("refund_fee"))
		}
		if _, err := parseWireTime(v.Get("gmt_refund")); err != nil {
			// gmt_refund carries milliseconds on some products.
			if _, err2 := parseWireTimeMillis(v.Get("gmt_refund")); err2 != nil {
				return malformed("gmt_refund %q", v.Get("gmt_refund"))
			}
		}
		n.Kind = channel.NoticeRefund
		n.Refund = channel.RefundResult{RefundNo: no, ChannelRefundNo: t.TradeNo, Status: channel.RefundSucceeded}
		return n, nil
	}

	switch status := v.Get("trade_status"); status {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		n.Kind = channel.NoticePaid
		n.Trade.Status = channel.TradeSuccess
		paid := v.Get("gmt_payment")
		if paid == "" {
			paid = v.Get("notify_time")
		}
		if n.Trade.PaidAt, err = parseWireTime(paid); err != nil {
			return malformed("gmt_payment %q", paid)
		}
	case "WAIT_BUYER_PAY":
		n.Trade.Status = channel.TradeWaiting
		n.Reason = "trade_status WAIT_BUYER_PAY: not paid yet"
	case "TRADE_CLOSED":
		n.Trade.Status = channel.TradeClosed
		n.Reason = "trade_status TRADE_CLOSED: closed without payment"
	default:
		return malformed("unknown trade_status %q", status)
	}
	return n, nil
}

func parseWireTimeMillis(s string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02 15:04:05.000", s, shanghai)
}

// Ack answers a notification: the body "success" stops Alipay's retries; anything else,
// here "fail", makes Alipay send it again later.
func (p *provider) Ack(ok bool, _ string) channel.Ack {
	body := "fail"
	if ok {
		body = "success"
	}
	return channel.Ack{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}
