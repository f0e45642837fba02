// Package campuscard is the platform's adapter for the campus card system (校园一卡通):
// it debits a card with the password the payer entered, refunds, queries and fetches a
// day's statement over the card system's signed HTTP protocol (described in
// app/sim/campuscard, which simulates the card system). The debit is synchronous: Create
// returns the payment at once, and the card system sends no notifications.
package campuscard

import (
	"campuspay/app/money"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"campuspay/app/channel"
)

// Config is how to reach the card system.
type Config struct {
	BaseURL string       // e.g. "http://127.0.0.1:8080/sim/card"; empty: only Endpoint
	Key     string       // the key shared with the card system
	Client  *http.Client // nil: a client with a 15 s timeout
	// Endpoint, when set, is asked before every call for the card system's address and
	// key as configured (系统参数 → 校园一卡通); when it reports none (ok false), BaseURL
	// and Key are used.
	Endpoint func(ctx context.Context) (baseURL, key string, ok bool)
}

// Channel is the campus card channel.
type Channel struct {
	baseURL  string
	key      string
	client   *http.Client
	endpoint func(ctx context.Context) (string, string, bool)
}

var _ channel.Channel = (*Channel)(nil)

// New returns the campus card channel for cfg.
func New(cfg Config) *Channel {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Channel{baseURL: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.Key, client: client, endpoint: cfg.Endpoint}
}

// target is the card system's address and key for a call now.
func (c *Channel) target(ctx context.Context) (baseURL, key string, ok bool) {
	if c.endpoint != nil {
		if u, k, ok := c.endpoint(ctx); ok {
			return strings.TrimRight(u, "/"), k, true
		}
	}
	return c.baseURL, c.key, c.baseURL != ""
}

// Ready reports whether the adapter knows a card system to talk to.
func (c *Channel) Ready(ctx context.Context) bool {
	_, _, ok := c.target(ctx)
	return ok
}

// shanghai is Asia/Shanghai (UTC+08:00, no daylight saving), the zone of business days.
var shanghai = time.FixedZone("CST", 8*60*60)

// outNoRe is what the card system accepts as an order or refund number.
var outNoRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// The card system's JSON.
type (
	debitRequest struct {
		HolderNo  string `json:"holder_no"`
		Password  string `json:"password"`
		OutNo     string `json:"out_no"`
		AmountFen int64  `json:"amount_fen"`
		Subject   string `json:"subject"`
	}
	debitAnswer struct {
		TxnNo        string `json:"txn_no"`
		OutNo        string `json:"out_no"`
		AmountFen    int64  `json:"amount_fen"`
		BalanceAfter int64  `json:"balance_after"`
		Time         string `json:"time"`
	}
	refundRequest struct {
		OutNo       string `json:"out_no"`
		OutRefundNo string `json:"out_refund_no"`
		AmountFen   int64  `json:"amount_fen"`
	}
	refundAnswer struct {
		TxnNo        string `json:"txn_no"`
		OutNo        string `json:"out_no"`
		OutRefundNo  string `json:"out_refund_no"`
		AmountFen    int64  `json:"amount_fen"`
		BalanceAfter int64  `json:"balance_after"`
		Time         string `json:"time"`
	}
	errorAnswer struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		BalanceFen *int64 `json:"balance_fen"`
	}
)

func (c *Channel) Name() string { return "campuscard" }

// Create debits the payer's card. A refusal the payer can act on (wrong password, frozen
// card, short balance, no card) is a *channel.Declined.
func (c *Channel) Create(ctx context.Context, req channel.CreateRequest) (channel.CreateResult, error) {
	if req.PayerNo == "" {
		return channel.CreateResult{}, &channel.Declined{Code: "no_account", Message: "校园卡支付仅限校内师生，请先登录"}
	}
	if req.Password == "" {
		return channel.CreateResult{}, &channel.Declined{Code: "wrong_password", Message: "请输入校园卡密码"}
	}
	if req.AmountFen <= 0 || !outNoRe.MatchString(req.OrderNo) {
		return channel.CreateResult{}, fmt.Errorf("campuscard: create %q: bad order number or amount %d", req.OrderNo, req.AmountFen)
	}
	status, body, err := c.call(ctx, http.MethodPost, "/api/debit", debitRequest{
		HolderNo:  req.PayerNo,
		Password:  req.Password,
		OutNo:     req.OrderNo,
		AmountFen: req.AmountFen,
		Subject:   req.Subject,
	})
	if err != nil {
		return channel.CreateResult{}, err
	}
	switch status {
	case http.StatusOK:
		trade, err := c.trade(body, req.OrderNo)
		if err == nil && trade.AmountFen != req.AmountFen {
			err = fmt.Errorf("campuscard: debit %s: debited %d fen, asked %d: %w", req.OrderNo, trade.AmountFen, req.AmountFen, channel.ErrUnavailable)
		}
		if err != nil {
			return channel.CreateResult{}, err
		}
		return channel.CreateResult{Paid: &trade}, nil
	case http.StatusUnprocessableEntity:
		return channel.CreateResult{}, declined(body)
	case http.StatusConflict:
		return channel.CreateResult{}, fmt.Errorf("campuscard: debit %s: the card system holds this order number with another amount or card", req.OrderNo)
	default:
		return channel.CreateResult{}, unexpected("debit "+req.OrderNo, status, body)
	}
}

// declined turns the card system's 422 into what the payer reads.
func declined(body []byte) *channel.Declined {
	var e errorAnswer
	json.Unmarshal(body, &e) // an unreadable body falls to the generic message
	d := &channel.Declined{Code: e.Code}
	switch e.Code {
	case "wrong_password":
		d.Message = "校园卡密码错误，请重新输入"
	case "frozen":
		d.Message = "校园卡已冻结，请到卡务中心处理"
	case "insufficient_balance":
		d.Message = "校园卡余额不足，请充值后再试"
		if e.BalanceFen != nil {
			d.Message = "校园卡余额不足，当前余额 " + money.Format(*e.BalanceFen) + "，请充值后再试"
		}
	case "no_account":
		d.Message = "未找到您的校园卡，请到卡务中心咨询"
	default:
		if d.Code == "" {
			d.Code = "declined"
		}
		d.Message = "校园卡支付未成功，请稍后再试或选择其他支付方式"
	}
	return d
}

// trade reads a debit answer that must be for orderNo.
func (c *Channel) trade(body []byte, orderNo string) (channel.Trade, error) {
	var a debitAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return channel.Trade{}, fmt.Errorf("campuscard: read debit %s: %w: %w", orderNo, channel.ErrUnavailable, err)
	}
	paidAt, err := time.Parse(time.RFC3339, a.Time)
	if err != nil || a.OutNo != orderNo || a.TxnNo == "" || a.AmountFen <= 0 {
		return channel.Trade{}, fmt.Errorf("campuscard: read debit %s: answer %q does not fit: %w", orderNo, body, channel.ErrUnavailable)
	}
	return channel.Trade{
		OrderNo:   a.OutNo,
		TradeNo:   a.TxnNo,
		AmountFen: a.AmountFen,
		Status:    channel.TradeSuccess,
		PaidAt:    paidAt.UTC(),
		Raw:       string(body),
	}, nil
}

// VerifyNotification refuses everything: the card system sends no notifications.
func (c *Channel) VerifyNotification(header http.Header, body []byte) (channel.Trade, error) {
	return channel.Trade{}, fmt.Errorf("campuscard: the campus card system sends no notifications: %w", channel.ErrMalformed)
}

func (c *Channel) NotificationAck() (string, []byte) { return "text/plain", []byte("ok") }

// Query looks the order's debit up; an order the card system never debited is
// TradeNotFound.
func (c *Channel) Query(ctx context.Context, orderNo string) (channel.Trade, error) {
	if !outNoRe.MatchString(orderNo) {
		return channel.Trade{}, fmt.Errorf("campuscard: query: bad order number %q", orderNo)
	}
	status, body, err := c.call(ctx, http.MethodGet, "/api/txns/"+orderNo, nil)
	if err != nil {
		return channel.Trade{}, err
	}
	switch status {
	case http.StatusOK:
		return c.trade(body, orderNo)
	case http.StatusNotFound:
		return channel.Trade{OrderNo: orderNo, Status: channel.TradeNotFound, Raw: string(body)}, nil
	default:
		return channel.Trade{}, unexpected("query "+orderNo, status, body)
	}
}

// Close has nothing to do: a debit happens at once or not at all, so nothing is waiting.
func (c *Channel) Close(ctx context.Context, orderNo string) error { return nil }

// Refund credits the card back at once. The card system is idempotent on the refund
// number, so a refund whose outcome is unknown may be sent again.
func (c *Channel) Refund(ctx context.Context, req channel.RefundRequest) (channel.RefundResult, error) {
	if !outNoRe.MatchString(req.OrderNo) || !outNoRe.MatchString(req.RefundNo) || req.AmountFen <= 0 {
		return channel.RefundResult{}, fmt.Errorf("campuscard: refund %q of %q: bad number or amount %d", req.RefundNo, req.OrderNo, req.AmountFen)
	}
	status, body, err := c.call(ctx, http.MethodPost, "/api/refund", refundRequest{
		OutNo:       req.OrderNo,
		OutRefundNo: req.RefundNo,
		AmountFen:   req.AmountFen,
	})
	if err != nil {
		return channel.RefundResult{}, err
	}
	failed := func(message string) (channel.RefundResult, error) {
		return channel.RefundResult{RefundNo: req.RefundNo, AmountFen: req.AmountFen, Status: channel.RefundFailed, Message: message}, nil
	}
	switch status {
	case http.StatusOK:
		r, err := refundResult(body, req.OrderNo, req.RefundNo)
		if err == nil && r.AmountFen != req.AmountFen {
			err = fmt.Errorf("campuscard: refund %s: refunded %d fen, asked %d: %w", req.RefundNo, r.AmountFen, req.AmountFen, channel.ErrUnavailable)
		}
		return r, err
	case http.StatusNotFound:
		return failed("校园卡系统中没有该订单的扣款记录")
	case http.StatusUnprocessableEntity:
		return failed("退款金额超过该订单在校园卡的可退金额")
	case http.StatusConflict:
		return failed("该退款单号在校园卡系统中已用于另一笔退款")
	default:
		return channel.RefundResult{}, unexpected("refund "+req.RefundNo, status, body)
	}
}

// QueryRefund looks a refund up. A refund the card system does not have is reported
// failed: it never took it, and Refund with the same number may be sent again.
func (c *Channel) QueryRefund(ctx context.Context, orderNo, refundNo string) (channel.RefundResult, error) {
	if !outNoRe.MatchString(refundNo) {
		return channel.RefundResult{}, fmt.Errorf("campuscard: query refund: bad refund number %q", refundNo)
	}
	status, body, err := c.call(ctx, http.MethodGet, "/api/refunds/"+refundNo, nil)
	if err != nil {
		return channel.RefundResult{}, err
	}
	switch status {
	case http.StatusOK:
		return refundResult(body, orderNo, refundNo)
	case http.StatusNotFound:
		return channel.RefundResult{RefundNo: refundNo, Status: channel.RefundFailed, Message: "校园卡系统中没有这笔退款"}, nil
	default:
		return channel.RefundResult{}, unexpected("query refund "+refundNo, status, body)
	}
}

// refundResult reads a refund answer that must be for refundNo of orderNo.
func refundResult(body []byte, orderNo, refundNo string) (channel.RefundResult, error) {
	var a refundAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return channel.RefundResult{}, fmt.Errorf("campuscard: read refund %s: %w: %w", refundNo, channel.ErrUnavailable, err)
	}
	if a.OutRefundNo != refundNo || a.TxnNo == "" || a.AmountFen <= 0 {
		return channel.RefundResult{}, fmt.Errorf("campuscard: read refund %s: answer %q does not fit: %w", refundNo, body, channel.ErrUnavailable)
	}
	if a.OutNo != orderNo {
		return channel.RefundResult{}, fmt.Errorf("campuscard: refund %s belongs to order %s, not %s", refundNo, a.OutNo, orderNo)
	}
	return channel.RefundResult{
		RefundNo:        a.OutRefundNo,
		ChannelRefundNo: a.TxnNo,
		AmountFen:       a.AmountFen,
		Status:          channel.RefundSucceeded,
	}, nil
}

// statementFile fetches the CSV statement of the business day that day falls in, in
// Asia/Shanghai. Its format is described in app/sim/campuscard.
func (c *Channel) statementFile(ctx context.Context, day time.Time) (string, []byte, error) {
	date := day.In(shanghai).Format(time.DateOnly)
	status, body, err := c.call(ctx, http.MethodGet, "/api/statements/"+date, nil)
	if err != nil {
		return "", nil, err
	}
	if status != http.StatusOK {
		return "", nil, unexpected("statement "+date, status, body)
	}
	return c.Name() + "-" + date + ".csv", body, nil
}

// unexpected is the error for an answer no method expects. The card system refusing
// our signature (a key or clock out of step) is an outage to fix and retry; anything
// else is a request it will never take.
func unexpected(op string, status int, body []byte) error {
	var e errorAnswer
	json.Unmarshal(body, &e)
	if status == http.StatusUnauthorized {
		return fmt.Errorf("campuscard: %s: card system refused our signature (%s): %w", op, e.Code, channel.ErrUnavailable)
	}
	return fmt.Errorf("campuscard: %s: unexpected status %d (%s)", op, status, e.Code)
}
