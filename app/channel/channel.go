// Package channel is the one interface every payment channel speaks (the sandbox, the
// campus card, Alipay, WeChat Pay), and the values that cross it. Adapters live in
// subpackages; the billing service only ever sees this interface.
package channel

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// TradeStatus is a channel's view of one payment.
type TradeStatus string

const (
	TradeWaiting  TradeStatus = "waiting"   // created, not paid yet
	TradeSuccess  TradeStatus = "success"   // paid
	TradeClosed   TradeStatus = "closed"    // closed or cancelled without payment
	TradeNotFound TradeStatus = "not_found" // the channel has never heard of it
)

// CreateRequest asks a channel to collect one order.
type CreateRequest struct {
	OrderNo   string    // ≤ 32 chars of [0-9A-Za-z]
	AmountFen int64     // > 0
	Subject   string    // shown to the payer by the channel
	ExpiresAt time.Time // the channel should refuse payment after this
	NotifyURL string    // where the channel posts its asynchronous notification
	ReturnURL string    // where the channel sends the payer back (hosted pages)
	PayerNo   string    // campus card: the cardholder's payer number
	Password  string    // campus card: the card password the payer entered
}

// CreateResult is what the payer does next. An asynchronous channel sets QRContent (for
// a PC to show), RedirectURL (for a phone to open), or both; a synchronous channel (the
// campus card) sets Paid instead.
type CreateResult struct {
	QRContent   string // content of a QR code to scan (opens the channel's pay page)
	RedirectURL string // a page to send a phone's browser to
	Paid        *Trade // set when the channel took the money at once
}

// Trade is a channel's record of a payment, from a notification or a query.
//
// OrderNo is the platform's number at the channel: the order's, or on the Provider model
// the attempt's. AppID and MerchantNo are what the company's message claims (Alipay
// app_id/seller_id, WeChat appid/mchid, UnionPay merId); the core checks them, the attempt
// and the amount against its own rows — a verified signature is not enough.
type Trade struct {
	OrderNo    string
	TradeNo    string // the channel's own number, unique per channel
	AmountFen  int64
	Status     TradeStatus
	PaidAt     time.Time
	AppID      string
	MerchantNo string
	Raw        string // the channel's message as received, for the record
}

// RefundRequest asks a channel to return money from one paid order.
type RefundRequest struct {
	OrderNo   string
	TradeNo   string
	RefundNo  string // the platform's refund number; the channel is idempotent on it
	AmountFen int64
	TotalFen  int64 // the original order total
	Reason    string
}

type RefundStatus string

const (
	RefundProcessing RefundStatus = "processing"
	RefundSucceeded  RefundStatus = "succeeded"
	RefundFailed     RefundStatus = "failed"
)

// RefundResult is a channel's view of one refund.
type RefundResult struct {
	RefundNo        string
	ChannelRefundNo string
	AmountFen       int64
	Status          RefundStatus
	Message         string
}

// Channel is a payment channel.
type Channel interface {
	// Name is the channel's code as stored on orders: "sandbox", "campuscard", …
	Name() string
	// Create asks the channel to collect an order.
	Create(ctx context.Context, req CreateRequest) (CreateResult, error)
	// VerifyNotification checks an asynchronous notification's signature and reads it.
	// It returns ErrBadSignature or ErrMalformed for what must not be believed. The caller
	// still checks that the order exists and the amount equals the order's.
	VerifyNotification(header http.Header, body []byte) (Trade, error)
	// NotificationAck is the body the channel expects back once a notification is handled.
	NotificationAck() (contentType string, body []byte)
	// Query asks the channel for an order's state.
	Query(ctx context.Context, orderNo string) (Trade, error)
	// Close tells the channel to take no more payment for an order.
	Close(ctx context.Context, orderNo string) error
	// Refund returns money; QueryRefund follows a refund that is still processing.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
	QueryRefund(ctx context.Context, orderNo, refundNo string) (RefundResult, error)
	// A channel with statements also implements StatementSource (provider.go).
}

// Errors a channel reports; adapters wrap them with detail.
var (
	ErrBadSignature = errors.New("channel: signature does not verify")
	ErrMalformed    = errors.New("channel: malformed message")
	// ErrDeclined: the channel refused the payment for a reason the payer can act on
	// (wrong password, frozen card, too little balance). Wrap it in a *Declined.
	ErrDeclined = errors.New("channel: payment declined")
	// ErrUnavailable: the channel did not answer or answered nonsense; try later.
	ErrUnavailable = errors.New("channel: unavailable")
)

// Declined carries the reason a payer sees when a channel refuses a payment.
type Declined struct {
	Code    string // e.g. "wrong_password", "frozen", "insufficient_balance"
	Message string // Simplified Chinese, for the payer
}

func (d *Declined) Error() string { return "channel: declined: " + d.Code + ": " + d.Message }
func (d *Declined) Unwrap() error { return ErrDeclined }
