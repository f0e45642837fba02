package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"

	"campuspay/app/channel"
	"campuspay/app/money"
)

const (
	wireTime = "2006-01-02 15:04:05"
	// Alipay's sub codes the adapter acts on.
	subTradeNotExist    = "ACQ.TRADE_NOT_EXIST"
	subTradeStatusError = "ACQ.TRADE_STATUS_ERROR"
)

var attemptNoPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)

type rawKey struct{}

// rawHolder receives the inner object of a verified answer (see open's OnReceivedData).
type rawHolder struct{ b []byte }

func withRaw(ctx context.Context) (context.Context, *rawHolder) {
	h := &rawHolder{}
	return context.WithValue(ctx, rawKey{}, h), h
}

func keepRaw(ctx context.Context, _ string, data []byte) {
	if h, ok := ctx.Value(rawKey{}).(*rawHolder); ok {
		h.b = append([]byte(nil), data...)
	}
}

// Pay creates the attempt at Alipay: a QR code for ALI_QR, the signed gateway address of
// the phone or PC cashier for ALI_WAP and ALI_PC.
func (p *provider) Pay(ctx context.Context, req channel.PayRequest) (channel.PayResult, error) {
	if err := p.checkPay(req); err != nil {
		return channel.PayResult{}, err
	}
	trade := alipay.Trade{
		NotifyURL:    req.NotifyURL,
		ReturnURL:    req.ReturnURL,
		AppAuthToken: p.set.appAuthToken,
		Subject:      subject(req.Subject),
		OutTradeNo:   req.AttemptNo,
		TotalAmount:  money.Plain(req.AmountFen),
		SellerId:     p.set.sellerID,
	}
	if !req.ExpiresAt.IsZero() {
		trade.TimeExpire = req.ExpiresAt.In(shanghai).Format(wireTime)
	}
	switch req.Way {
	case channel.WayAliQR:
		trade.ReturnURL = ""
		trade.ProductCode = "FACE_TO_FACE_PAYMENT"
		rsp, err := p.client.TradePreCreate(ctx, alipay.TradePreCreate{Trade: trade})
		if err != nil {
			return channel.PayResult{}, p.callError("precreate "+req.AttemptNo, err)
		}
		if !rsp.Code.IsSuccess() {
			return channel.PayResult{}, businessError("precreate "+req.AttemptNo, rsp.Error)
		}
		if rsp.OutTradeNo != req.AttemptNo || rsp.QRCode == "" {
			return channel.PayResult{}, fmt.Errorf("alipay: precreate %s: answer names trade %q with QR code %q: %w", req.AttemptNo, rsp.OutTradeNo, rsp.QRCode, channel.ErrUnavailable)
		}
		return channel.PayResult{QRContent: rsp.QRCode}, nil
	case channel.WayAliWAP:
		trade.ProductCode = "QUICK_WAP_WAY"
		wap := alipay.TradeWapPay{Trade: trade, QuitURL: req.ReturnURL}
		if !req.ExpiresAt.IsZero() {
			// The phone cashier takes minutes only; round down so it never outlives the attempt.
			wap.TimeExpire = req.ExpiresAt.In(shanghai).Format("2006-01-02 15:04")
		}
		u, err := p.client.TradeWapPay(wap)
		if err != nil {
			return channel.PayResult{}, fmt.Errorf("alipay: wap pay %s: sign: %w", req.AttemptNo, err)
		}
		return channel.PayResult{RedirectURL: u.String()}, nil
	case channel.WayAliPC:
		trade.ProductCode = "FAST_INSTANT_TRADE_PAY"
		u, err := p.client.TradePagePay(alipay.TradePagePay{Trade: trade})
		if err != nil {
			return channel.PayResult{}, fmt.Errorf("alipay: page pay %s: sign: %w", req.AttemptNo, err)
		}
		return channel.PayResult{RedirectURL: u.String()}, nil
	}
	return channel.PayResult{}, fmt.Errorf("alipay: pay %s: way %q is not Alipay's", req.AttemptNo, req.Way)
}

func (p *provider) checkPay(req channel.PayRequest) error {
	switch {
	case !attemptNoPattern.MatchString(req.AttemptNo):
		return fmt.Errorf("alipay: pay: attempt number %q is not 1–32 letters and digits", req.AttemptNo)
	case req.AmountFen <= 0 || req.AmountFen > money.MaxFen:
		return fmt.Errorf("alipay: pay %s: amount %d fen out of range", req.AttemptNo, req.AmountFen)
	case !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(p.now()):
		return fmt.Errorf("alipay: pay %s: the attempt expired at %s", req.AttemptNo, req.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if err := checkAbsURL(req.NotifyURL); err != nil {
		return fmt.Errorf("alipay: pay %s: notify url: %w", req.AttemptNo, err)
	}
	if req.ReturnURL != "" {
		if err := checkAbsURL(req.ReturnURL); err != nil {
			return fmt.Errorf("alipay: pay %s: return url: %w", req.AttemptNo, err)
		}
	}
	return nil
}

func checkAbsURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) address", s)
	}
	return nil
}

// subject is what the payer sees in Alipay: at most 128 characters, without the / = &
// that Alipay refuses in a subject.
func subject(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '/', '=', '&':
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 128 {
		s = string(r[:128])
	}
	if s == "" {
		s = "缴费"
	}
	return s
}

// Query asks Alipay for an attempt. TRADE_NOT_EXIST means the payer has not scanned the
// code or opened the cashier yet: waiting.
func (p *provider) Query(ctx context.Context, ref channel.TradeRef) (channel.Trade, error) {
	if !attemptNoPattern.MatchString(ref.AttemptNo) {
		return channel.Trade{}, fmt.Errorf("alipay: query: bad attempt number %q", ref.AttemptNo)
	}
	ctx, raw := withRaw(ctx)
	rsp, err := p.client.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: ref.AttemptNo, TradeNo: ref.TradeNo, AppAuthToken: p.set.appAuthToken})
	if err != nil {
		return channel.Trade{}, p.callError("query "+ref.AttemptNo, err)
	}
	if !rsp.Code.IsSuccess() {
		if rsp.SubCode == subTradeNotExist {
			return channel.Trade{OrderNo: ref.AttemptNo, Status: channel.TradeWaiting, AppID: p.set.appID, Raw: string(raw.b)}, nil
		}
		return channel.Trade{}, businessError("query "+ref.AttemptNo, rsp.Error)
	}
	t := channel.Trade{OrderNo: rsp.OutTradeNo, TradeNo: rsp.TradeNo, AppID: p.set.appID, Raw: string(raw.b)}
	if t.AmountFen, err = parseYuan(rsp.TotalAmount); err != nil {
		return channel.Trade{}, fmt.Errorf("alipay: query %s: total_amount: %w: %w", ref.AttemptNo, err, channel.ErrUnavailable)
	}
	switch rsp.TradeStatus {
	case alipay.TradeStatusWaitBuyerPay:
		t.Status = channel.TradeWaiting
	case alipay.TradeStatusSuccess, alipay.TradeStatusFinished:
		t.Status = channel.TradeSuccess
		if t.PaidAt, err = parseWireTime(rsp.SendPayDate); err != nil {
			t.PaidAt = p.now().UTC() // Alipay leaves send_pay_date out on some products
		}
	case alipay.TradeStatusClosed:
		t.Status = channel.TradeClosed
	default:
		return channel.Trade{}, fmt.Errorf("alipay: query %s: unknown trade_status %q: %w", ref.AttemptNo, rsp.TradeStatus, channel.ErrUnavailable)
	}
	return t, nil
}

// Close tells Alipay to take no more payment for an attempt. An attempt Alipay has not
// seen yet (QR code not scanned) has nothing to close; a paid one is an error.
func (p *provider) Close(ctx context.Context, ref channel.TradeRef) error {
	if !attemptNoPattern.MatchString(ref.AttemptNo) {
		return fmt.Errorf("alipay: close: bad attempt number %q", ref.AttemptNo)
	}
	rsp, err := p.client.TradeClose(ctx, alipay.TradeClose{OutTradeNo: ref.AttemptNo, TradeNo: ref.TradeNo, AppAuthToken: p.set.appAuthToken})
	if err != nil {
		return p.callError("close "+ref.AttemptNo, err)
	}
	switch {
	case rsp.Code.IsSuccess(), rsp.SubCode == subTradeNotExist:
		return nil
	case rsp.SubCode == subTradeStatusError:
		// Already closed, or paid: only a query tells which.
		t, err := p.Query(ctx, ref)
		if err != nil {
			return err
		}
		if t.Status == channel.TradeClosed {
			return nil
		}
		return fmt.Errorf("alipay: close %s: %w", ref.AttemptNo, ErrPaid)
	}
	return businessError("close "+ref.AttemptNo, rsp.Error)
}

// ErrPaid: an attempt could not be closed because the payer has paid it.
var ErrPaid = errors.New("alipay: the trade is paid and cannot be closed")

// parseYuan converts one of Alipay's amount strings ("12.30") to fen exactly. It accepts
// only digits with at most two decimals; the money package does the arithmetic.
func parseYuan(s string) (int64, error) {
	if !yuanPattern.MatchString(s) {
		return 0, fmt.Errorf("amount %q is not a yuan amount", s)
	}
	fen, err := money.ParseYuan(s)
	if err != nil {
		return 0, err
	}
	return fen, nil
}

// parseSignedYuan is parseYuan allowing a leading minus (statement lines).
func parseSignedYuan(s string) (int64, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		fen, err := parseYuan(rest)
		return -fen, err
	}
	return parseYuan(s)
}

var yuanPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)

// parseWireTime reads Alipay's "2006-01-02 15:04:05" Beijing time and returns it in UTC.
func parseWireTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation(wireTime, s, shanghai)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
