package unionpay

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"campuspay/app/channel"
)

// Pay returns the front transaction form (txnType 01 消费) the cashier auto-submits.
func (p *provider) Pay(ctx context.Context, req channel.PayRequest) (channel.PayResult, error) {
	var channelType string
	switch req.Way {
	case channel.WayUpPC:
		channelType = "07" // internet (PC)
	case channel.WayUpWAP:
		channelType = "08" // mobile; 云闪付 opens this page too
	default:
		return channel.PayResult{}, fmt.Errorf("unionpay: way %q is not offered", req.Way)
	}
	switch {
	case !orderIDPattern.MatchString(req.AttemptNo):
		return channel.PayResult{}, fmt.Errorf("unionpay: attempt number %q: 8 to 40 letters or digits", req.AttemptNo)
	case req.AmountFen <= 0 || req.AmountFen > 999_999_999_999:
		return channel.PayResult{}, fmt.Errorf("unionpay: amount %d fen out of range", req.AmountFen)
	case req.CreatedAt.IsZero() || !req.ExpiresAt.After(req.CreatedAt):
		return channel.PayResult{}, fmt.Errorf("unionpay: attempt %s: expiry must follow creation", req.AttemptNo)
	}
	if err := absoluteURL(req.NotifyURL); err != nil {
		return channel.PayResult{}, fmt.Errorf("unionpay: notify URL: %w", err)
	}
	if err := absoluteURL(req.ReturnURL); err != nil {
		return channel.PayResult{}, fmt.Errorf("unionpay: return URL: %w", err)
	}
	f := map[string]string{
		"txnType":      "01",
		"txnSubType":   "01",
		"bizType":      "000201",
		"channelType":  channelType,
		"accessType":   "0",
		"currencyCode": "156",
		"merId":        p.merID,
		"orderId":      req.AttemptNo,
		"txnTime":      wireTime(req.CreatedAt),
		"txnAmt":       fmt.Sprint(req.AmountFen),
		"payTimeout":   wireTime(req.ExpiresAt),
		"frontUrl":     req.ReturnURL,
		"backUrl":      req.NotifyURL,
	}
	if req.PayerIP != "" {
		f["customerIp"] = req.PayerIP
	}
	if s := riskSafe(req.Subject); s != "" {
		f["riskRateInfo"] = "{commodityName=" + s + "}"
	}
	f["version"] = version
	f["encoding"] = encoding
	if err := p.sign(f); err != nil {
		return channel.PayResult{}, err
	}
	return channel.PayResult{Form: &channel.PostForm{Action: p.frontURL, Fields: f}}, nil
}

// riskSafe keeps a subject that cannot break riskRateInfo's {k=v&…} syntax.
func riskSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune("{}[]&=\"'<>\r\n\t", r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 32 {
		s = string(r[:32])
	}
	return strings.TrimSpace(s)
}

func absoluteURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// query asks about one transaction by its orderId and original txnTime.
func (p *provider) query(ctx context.Context, orderID string, txnTime time.Time) (map[string]string, error) {
	if !orderIDPattern.MatchString(orderID) || txnTime.IsZero() {
		return nil, fmt.Errorf("unionpay: query needs the orderId and its original txnTime (%q)", orderID)
	}
	ans, err := p.call(ctx, p.queryURL, map[string]string{
		"txnType":    "00",
		"txnSubType": "00",
		"bizType":    "000201",
		"accessType": "0",
		"merId":      p.merID,
		"orderId":    orderID,
		"txnTime":    wireTime(txnTime),
	}, maxAnswer)
	if err != nil {
		return nil, err
	}
	if c := ans["respCode"]; c == "00" && ans["orderId"] != orderID {
		return nil, unavailable("银联查询应答的订单号 %q 与所查 %q 不符", ans["orderId"], orderID)
	}
	return ans, nil
}

// processing tells the codes that mean "accepted, not finished: ask again".
func processing(code string) bool { return code == "03" || code == "04" || code == "05" }

// Query asks for an attempt's state: respCode 34 is a trade UnionPay has never seen (the
// payer never reached its page); origRespCode 00 is paid, 03/04/05 still waiting, and any
// other origRespCode a consume that failed.
func (p *provider) Query(ctx context.Context, ref channel.TradeRef) (channel.Trade, error) {
	ans, err := p.query(ctx, ref.AttemptNo, ref.CreatedAt)
	if err != nil {
		return channel.Trade{}, err
	}
	switch c := ans["respCode"]; {
	case c == "34":
		return channel.Trade{OrderNo: ref.AttemptNo, Status: channel.TradeNotFound, Raw: encodeRaw(ans)}, nil
	case processing(c):
		return channel.Trade{}, unavailable("银联正在处理查询（respCode %s），请稍后再查", c)
	case c != "00":
		return channel.Trade{}, &RespError{Code: c, Message: ans["respMsg"]}
	}
	t := channel.Trade{OrderNo: ref.AttemptNo, MerchantNo: ans["merId"], TradeNo: ans["queryId"], Raw: encodeRaw(ans)}
	switch oc := ans["origRespCode"]; {
	case oc == "00":
		if err := fillPaid(&t, ans); err != nil {
			return channel.Trade{}, unavailable("银联查询应答: %v", err)
		}
	case processing(oc):
		t.Status = channel.TradeWaiting
	default:
		t.Status = channel.TradeClosed
	}
	return t, nil
}

// fillPaid completes a paid trade from a query answer or a notification.
func fillPaid(t *channel.Trade, f map[string]string) error {
	amt, err := parseFen(f["txnAmt"])
	if err != nil {
		return err
	}
	if f["queryId"] == "" {
		return fmt.Errorf("queryId is missing")
	}
	at, err := paidAt(f["txnTime"], f["traceTime"])
	if err != nil {
		return err
	}
	t.Status, t.AmountFen, t.TradeNo, t.PaidAt, t.MerchantNo = channel.TradeSuccess, amt, f["queryId"], at, f["merId"]
	return nil
}

// paidAt is when UnionPay took the money: traceTime (MMddHHmmss, Beijing) in the year that
// puts it at or after txnTime; txnTime itself when traceTime is absent.
func paidAt(txnTime, traceTime string) (time.Time, error) {
	created, err := parseWireTime(txnTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("txnTime %q: %v", txnTime, err)
	}
	if traceTime == "" {
		return created.UTC(), nil
	}
	t, err := time.ParseInLocation("2006"+"0102150405", fmt.Sprint(created.Year())+traceTime, beijing)
	if err != nil || len(traceTime) != 10 {
		return time.Time{}, fmt.Errorf("traceTime %q is not MMddHHmmss", traceTime)
	}
	if t.Before(created.Add(-24 * time.Hour)) {
		t = t.AddDate(1, 0, 0) // paid in the next year
	}
	return t.UTC(), nil
}

// Close has no UnionPay call: a front consume cannot be closed. UnionPay refuses payment
// after payTimeout (set from ExpiresAt in Pay), so an expired attempt is closed by time;
// a payment that still arrives goes to the overpayment refund path like any late attempt.
func (p *provider) Close(ctx context.Context, ref channel.TradeRef) error {
	if !orderIDPattern.MatchString(ref.AttemptNo) {
		return fmt.Errorf("unionpay: close: attempt number %q", ref.AttemptNo)
	}
	return nil
}

// encodeRaw keeps an answer for the record, sorted, signature last.
func encodeRaw(f map[string]string) string {
	s := signingString(f)
	if sig, ok := f["signature"]; ok {
		s += "&signature=" + sig
	}
	return s
}
