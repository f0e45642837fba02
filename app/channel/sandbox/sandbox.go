// Package sandbox is the platform's adapter for the sandbox payment company (the simulator
// in app/sim/sandbox, or anything else that speaks its protocol). It talks to the gateway
// only over HTTP, signs every request and believes only answers and notifications whose
// signature verifies; the protocol is described in the simulator's package comment.
package sandbox

import (
	"bytes"
	"campuspay/app/sign"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"campuspay/app/channel"
)

// Name is the channel's code.
const Name = "sandbox"

// Header names of the protocol.
const (
	headerMerchant  = "X-Sandbox-Merchant"
	headerTimestamp = "X-Sandbox-Timestamp"
	headerSignature = "X-Sandbox-Signature"
)

const (
	signatureWindow = 300 * time.Second
	clientTimeout   = 10 * time.Second
	maxResponse     = 32 << 20 // a statement of a busy day fits many times over
)

// Config says where the gateway is and who the platform is to it.
type Config struct {
	GatewayURL string       // e.g. "http://127.0.0.1:8080/sim/sandbox"
	Merchant   string       // the platform's merchant code at the gateway
	Key        string       // the shared signing key
	Client     *http.Client // nil: a client with a 10 s timeout
}

// Channel is the sandbox adapter; it implements channel.Channel.
type Channel struct {
	gateway  string
	merchant string
	key      string
	client   *http.Client
	now      func() time.Time
}

var _ channel.Channel = (*Channel)(nil)

// New returns the adapter for cfg.
func New(cfg Config) *Channel {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: clientTimeout}
	}
	return &Channel{
		gateway:  strings.TrimRight(cfg.GatewayURL, "/"),
		merchant: cfg.Merchant,
		key:      cfg.Key,
		client:   client,
		now:      time.Now,
	}
}

// Name returns "sandbox".
func (c *Channel) Name() string { return Name }

// APIError is a refusal the gateway signed: invalid parameters, a conflicting repeat, a
// paid trade that cannot be closed, an unknown refund. Code is the gateway's ("INVALID_PARAM",
// "TRADE_CONFLICT", "TRADE_PAID", "REFUND_CONFLICT", "REFUND_NOT_EXIST", …).
type APIError struct {
	Status  int    // HTTP status
	Code    string // the gateway's code
	Message string // the gateway's message, in Chinese
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sandbox: gateway refused (%d %s): %s", e.Status, e.Code, e.Message)
}

// Create asks the gateway for a trade; the payer opens its pay page, by QR code or redirect.
func (c *Channel) Create(ctx context.Context, req channel.CreateRequest) (channel.CreateResult, error) {
	in := map[string]any{
		"out_trade_no": req.OrderNo,
		"amount_fen":   req.AmountFen,
		"subject":      req.Subject,
		"notify_url":   req.NotifyURL,
		"return_url":   req.ReturnURL,
	}
	if !req.ExpiresAt.IsZero() {
		in["expires_at"] = req.ExpiresAt.Format(time.RFC3339)
	}
	var out struct {
		TradeNo string `json:"trade_no"`
		PayURL  string `json:"pay_url"`
		Status  string `json:"status"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/trades", in, &out); err != nil {
		return channel.CreateResult{}, fmt.Errorf("sandbox: create %s: %w", req.OrderNo, err)
	}
	switch {
	case out.PayURL == "" || out.TradeNo == "":
		return channel.CreateResult{}, fmt.Errorf("sandbox: create %s: %w: answer without pay_url", req.OrderNo, channel.ErrUnavailable)
	case out.Status == "SUCCESS":
		return channel.CreateResult{}, fmt.Errorf("sandbox: create %s: %w",
			req.OrderNo, &APIError{Status: http.StatusConflict, Code: "TRADE_PAID", Message: "交易已支付"})
	case out.Status == "CLOSED":
		return channel.CreateResult{}, fmt.Errorf("sandbox: create %s: %w",
			req.OrderNo, &APIError{Status: http.StatusConflict, Code: "TRADE_CLOSED", Message: "交易已关闭"})
	}
	return channel.CreateResult{QRContent: out.PayURL, RedirectURL: out.PayURL}, nil
}

type notification struct {
	Merchant   string `json:"merchant"`
	OutTradeNo string `json:"out_trade_no"`
	TradeNo    string `json:"trade_no"`
	AmountFen  int64  `json:"amount_fen"`
	Status     string `json:"status"`
	PaidAt     string `json:"paid_at"`
}

// VerifyNotification checks a notification's signature and timestamp and reads it.
func (c *Channel) VerifyNotification(header http.Header, body []byte) (channel.Trade, error) {
	ts, sig := header.Get(headerTimestamp), header.Get(headerSignature)
	if ts == "" || sig == "" {
		return channel.Trade{}, fmt.Errorf("sandbox: notification without signature headers: %w", channel.ErrBadSignature)
	}
	if !hmac.Equal([]byte(sig), []byte(sign.HMAC(c.key, "NOTIFY\n"+ts+"\n"+bodyHash(body)))) {
		return channel.Trade{}, fmt.Errorf("sandbox: notification: %w", channel.ErrBadSignature)
	}
	if !c.withinWindow(ts) {
		return channel.Trade{}, fmt.Errorf("sandbox: notification timestamp %q outside the 300 s window: %w", ts, channel.ErrBadSignature)
	}
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		return channel.Trade{}, fmt.Errorf("sandbox: notification: %w: %v", channel.ErrMalformed, err)
	}
	switch {
	case n.Merchant != c.merchant:
		return channel.Trade{}, fmt.Errorf("sandbox: notification for merchant %q: %w", n.Merchant, channel.ErrMalformed)
	case n.OutTradeNo == "" || n.TradeNo == "":
		return channel.Trade{}, fmt.Errorf("sandbox: notification without trade numbers: %w", channel.ErrMalformed)
	case n.AmountFen <= 0:
		return channel.Trade{}, fmt.Errorf("sandbox: notification amount %d: %w", n.AmountFen, channel.ErrMalformed)
	}
	t := channel.Trade{OrderNo: n.OutTradeNo, TradeNo: n.TradeNo, AmountFen: n.AmountFen, Raw: string(body)}
	// A signed notification of a trade still waiting or closed is believed too, and read as
	// what it says: the caller acknowledges it and acts on success only.
	switch n.Status {
	case "WAIT_PAY":
		t.Status = channel.TradeWaiting
		return t, nil
	case "CLOSED":
		t.Status = channel.TradeClosed
		return t, nil
	case "SUCCESS":
	default:
		return channel.Trade{}, fmt.Errorf("sandbox: notification status %q: %w", n.Status, channel.ErrMalformed)
	}
	paidAt, err := time.Parse(time.RFC3339, n.PaidAt)
	if err != nil {
		return channel.Trade{}, fmt.Errorf("sandbox: notification paid_at %q: %w", n.PaidAt, channel.ErrMalformed)
	}
	t.Status, t.PaidAt = channel.TradeSuccess, paidAt.UTC()
	return t, nil
}

// NotificationAck is the body the gateway waits for: "success".
func (c *Channel) NotificationAck() (string, []byte) {
	return "text/plain; charset=utf-8", []byte("success")
}

// Query asks the gateway for an order's trade.
func (c *Channel) Query(ctx context.Context, orderNo string) (channel.Trade, error) {
	var out struct {
		TradeNo    string  `json:"trade_no"`
		OutTradeNo string  `json:"out_trade_no"`
		AmountFen  int64   `json:"amount_fen"`
		Status     string  `json:"status"`
		PaidAt     *string `json:"paid_at"`
	}
	raw, err := c.callRaw(ctx, http.MethodGet, "/api/trades/"+url.PathEscape(orderNo), nil, &out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "TRADE_NOT_EXIST" {
		return channel.Trade{OrderNo: orderNo, Status: channel.TradeNotFound, Raw: string(raw)}, nil
	}
	if err != nil {
		return channel.Trade{}, fmt.Errorf("sandbox: query %s: %w", orderNo, err)
	}
	t := channel.Trade{OrderNo: out.OutTradeNo, TradeNo: out.TradeNo, AmountFen: out.AmountFen, Raw: string(raw)}
	switch out.Status {
	case "WAIT_PAY":
		t.Status = channel.TradeWaiting
	case "CLOSED":
		t.Status = channel.TradeClosed
	case "SUCCESS":
		t.Status = channel.TradeSuccess
		if out.PaidAt == nil {
			return channel.Trade{}, fmt.Errorf("sandbox: query %s: %w: paid trade without paid_at", orderNo, channel.ErrUnavailable)
		}
		paidAt, err := time.Parse(time.RFC3339, *out.PaidAt)
		if err != nil {
			return channel.Trade{}, fmt.Errorf("sandbox: query %s: %w: paid_at %q", orderNo, channel.ErrUnavailable, *out.PaidAt)
		}
		t.PaidAt = paidAt.UTC()
	default:
		return channel.Trade{}, fmt.Errorf("sandbox: query %s: %w: status %q", orderNo, channel.ErrUnavailable, out.Status)
	}
	if t.OrderNo != orderNo {
		return channel.Trade{}, fmt.Errorf("sandbox: query %s: %w: answer about %q", orderNo, channel.ErrUnavailable, t.OrderNo)
	}
	return t, nil
}

// Close tells the gateway to take no more payment for an order. Closing a closed or unknown
// order succeeds; closing a paid one is an *APIError with Code "TRADE_PAID".
func (c *Channel) Close(ctx context.Context, orderNo string) error {
	if err := c.call(ctx, http.MethodPost, "/api/trades/"+url.PathEscape(orderNo)+"/close", nil, nil); err != nil {
		return fmt.Errorf("sandbox: close %s: %w", orderNo, err)
	}
	return nil
}

type refundAnswer struct {
	RefundNo    string `json:"refund_no"`
	OutRefundNo string `json:"out_refund_no"`
	AmountFen   int64  `json:"amount_fen"`
	Status      string `json:"status"`
}

// result reads the answer about refund refundNo. An answer about another refund number is
// not believed (channel.ErrUnavailable): it says nothing about the refund asked for, whatever
// its status.
func (r refundAnswer) result(refundNo string) (channel.RefundResult, error) {
	if r.OutRefundNo != refundNo {
		return channel.RefundResult{}, fmt.Errorf("%w: answer about refund %q", channel.ErrUnavailable, r.OutRefundNo)
	}
	res := channel.RefundResult{RefundNo: r.OutRefundNo, ChannelRefundNo: r.RefundNo, AmountFen: r.AmountFen}
	switch r.Status {
	case "SUCCESS":
		res.Status = channel.RefundSucceeded
	case "FAILED":
		res.Status = channel.RefundFailed
	default:
		return channel.RefundResult{}, fmt.Errorf("%w: refund status %q", channel.ErrUnavailable, r.Status)
	}
	return res, nil
}

// Refund returns money synchronously. A refund the gateway refuses for good (more than was
// paid, an unpaid or unknown trade) comes back with Status RefundFailed and the gateway's
// message, and no error.
func (c *Channel) Refund(ctx context.Context, req channel.RefundRequest) (channel.RefundResult, error) {
	in := map[string]any{
		"out_trade_no":  req.OrderNo,
		"out_refund_no": req.RefundNo,
		"amount_fen":    req.AmountFen,
		"reason":        req.Reason,
	}
	var out refundAnswer
	err := c.call(ctx, http.MethodPost, "/api/refunds", in, &out)
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "REFUND_EXCEEDS", "TRADE_NOT_PAID", "TRADE_NOT_EXIST":
			return channel.RefundResult{RefundNo: req.RefundNo, AmountFen: req.AmountFen,
				Status: channel.RefundFailed, Message: ae.Message}, nil
		}
	}
	if err != nil {
		return channel.RefundResult{}, fmt.Errorf("sandbox: refund %s: %w", req.RefundNo, err)
	}
	res, err := out.result(req.RefundNo)
	if err != nil {
		return channel.RefundResult{}, fmt.Errorf("sandbox: refund %s: %w", req.RefundNo, err)
	}
	return res, nil
}

// QueryRefund reads a refund back; an unknown one is an *APIError with Code
// "REFUND_NOT_EXIST" (or "TRADE_NOT_EXIST").
func (c *Channel) QueryRefund(ctx context.Context, orderNo, refundNo string) (channel.RefundResult, error) {
	var out refundAnswer
	path := "/api/refunds/" + url.PathEscape(orderNo) + "/" + url.PathEscape(refundNo)
	if err := c.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		return channel.RefundResult{}, fmt.Errorf("sandbox: query refund %s: %w", refundNo, err)
	}
	res, err := out.result(refundNo)
	if err != nil {
		return channel.RefundResult{}, fmt.Errorf("sandbox: query refund %s: %w", refundNo, err)
	}
	return res, nil
}

// shanghai is Asia/Shanghai (+08:00, no daylight saving since 1991).
var shanghai = time.FixedZone("CST", 8*3600)

// statementFile fetches the CSV statement of the business day (Asia/Shanghai) that
// contains day. A day that has not ended yet is an *APIError with Code
// "STATEMENT_NOT_READY".
func (c *Channel) statementFile(ctx context.Context, day time.Time) (string, []byte, error) {
	date := day.In(shanghai).Format(time.DateOnly)
	body, err := c.callRaw(ctx, http.MethodGet, "/api/statements/"+date, nil, nil)
	if err != nil {
		return "", nil, fmt.Errorf("sandbox: statement %s: %w", date, err)
	}
	return Name + "-" + date + ".csv", body, nil
}

// call sends a signed request and decodes a verified 200 answer into out (when not nil).
func (c *Channel) call(ctx context.Context, method, path string, in, out any) error {
	_, err := c.callRaw(ctx, method, path, in, out)
	return err
}

// callRaw sends a signed request, verifies the answer's signature and returns its body.
// Transport failures, 5xx and answers that do not verify or make no sense wrap
// channel.ErrUnavailable; any other non-200 is an *APIError.
func (c *Channel) callRaw(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var reqBody []byte
	if in != nil {
		var err error
		if reqBody, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.gateway+path, bytes.NewReader(reqBody))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	signedPath := req.URL.EscapedPath()
	ts := strconv.FormatInt(c.now().Unix(), 10)
	if in != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set(headerMerchant, c.merchant)
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerSignature, sign.HMAC(c.key, method+"\n"+signedPath+"\n"+ts+"\n"+bodyHash(reqBody)))

	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %w", channel.ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return body, fmt.Errorf("%w: HTTP %d", channel.ErrUnavailable, resp.StatusCode)
	}
	rts, rsig := resp.Header.Get(headerTimestamp), resp.Header.Get(headerSignature)
	want := sign.HMAC(c.key, method+"\n"+signedPath+"\n"+rts+"\n"+bodyHash(body))
	if rsig == "" || !hmac.Equal([]byte(rsig), []byte(want)) {
		return body, fmt.Errorf("%w: answer (HTTP %d) signature does not verify", channel.ErrUnavailable, resp.StatusCode)
	}
	if !c.withinWindow(rts) {
		return body, fmt.Errorf("%w: answer timestamp %q outside the 300 s window", channel.ErrUnavailable, rts)
	}
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{Status: resp.StatusCode}
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
			return body, fmt.Errorf("%w: HTTP %d without an error code", channel.ErrUnavailable, resp.StatusCode)
		}
		ae.Code, ae.Message = e.Code, e.Message
		return body, ae
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return body, fmt.Errorf("%w: decode answer: %w", channel.ErrUnavailable, err)
		}
	}
	return body, nil
}

func (c *Channel) withinWindow(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := c.now().Sub(time.Unix(sec, 0))
	return d <= signatureWindow && d >= -signatureWindow
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
