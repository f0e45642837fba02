package channel

// The channel model for real payment companies (Alipay, WeChat Pay, UnionPay, and the
// sandbox and campus card once they move onto it). A Driver is one kind of channel: it
// says what the channel can do (ways, capabilities), which merchant settings it needs,
// and opens a Provider bound to one merchant account with those settings. The billing
// core talks to Providers only; it never compares a channel's name to decide anything.
//
// Money crosses this boundary as int64 fen. An adapter converts a company's yuan strings
// with app/money at its edge and never by float.

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Way is one way of paying that a channel offers (支付方式).
type Way string

const (
	WayAliQR    Way = "ALI_QR"    // Alipay precreate: a QR code shown on a PC screen
	WayAliWAP   Way = "ALI_WAP"   // Alipay in a phone browser and inside the Alipay app
	WayAliPC    Way = "ALI_PC"    // Alipay page pay on a PC
	WayWxNative Way = "WX_NATIVE" // WeChat Pay Native: a QR code on a PC
	WayWxJSAPI  Way = "WX_JSAPI"  // WeChat Pay inside WeChat (needs the payer's openid)
	WayWxH5     Way = "WX_H5"     // WeChat Pay from another phone browser
	WayUpPC     Way = "UP_PC"     // UnionPay online, PC page (an auto-submitted form)
	WayUpWAP    Way = "UP_WAP"    // UnionPay online, phone page; 云闪付 opens it too
	WayCard     Way = "CARD"      // campus card: synchronous debit with a password
	WaySandbox  Way = "SANDBOX"   // the simulated payment company's hosted page
)

// Capabilities is what the cashier and billing need to know about a channel.
type Capabilities struct {
	Label         string // shown to payers and staff, e.g. "支付宝"
	Ways          []Way
	Synchronous   bool // the money moves during Pay (campus card): no notification follows
	NeedsPassword bool // Pay needs the payer's password (campus card)
	Guests        bool // off-campus payers without an account may use it
	PartialRefund bool // a paid attempt can be refunded in several parts
	Simulator     bool // play money: allowed only where simulators are switched on
	// SettlementMarkers are words (compared in upper case) by which a line of the school's
	// bank statement, in its memo or counterparty, names this channel's settlement.
	SettlementMarkers []string
}

// Capable is a channel that says what it can do (a Driver, or an adapter of the older
// Channel interface that has moved this far).
type Capable interface {
	Capabilities() Capabilities
}

// Field is one merchant setting a driver needs; the console renders its form from these.
type Field struct {
	Key       string // e.g. "app_id", "private_key"
	Label     string // Simplified Chinese, e.g. "应用私钥"
	Help      string // what to paste, from which company console
	Secret    bool   // sealed at rest, never shown back
	Multiline bool   // PEM keys and certificates
	Optional  bool
}

// MerchantConfig is one merchant account's settings as a driver reads them: the plain
// values of its Fields (secrets already unsealed) and the addresses the platform gives.
type MerchantConfig struct {
	MerchantID int64             // the platform's merchant row
	Values     map[string]string // Field.Key → value
	// HTTPClient reaches the company (or its fake); nil means a default with a timeout.
	HTTPClient *http.Client
	Now        func() time.Time // nil: time.Now
}

// Driver is one kind of channel.
type Driver interface {
	Name() string // the channel's code as stored on attempts: "alipay", "wechatpay", …
	Capabilities() Capabilities
	Fields() []Field
	// Open validates cfg (keys parse, a private key matches its certificate, certificates
	// chain to the configured root) and returns a Provider bound to that merchant. Its
	// error names the field at fault in words finance can act on.
	Open(cfg MerchantConfig) (Provider, error)
}

// PayRequest asks a channel to collect one attempt of an order.
type PayRequest struct {
	AttemptNo string    // the channel's out_trade_no / orderId: ≤ 32 chars of [0-9A-Za-z]
	Way       Way       // one of the driver's ways
	AmountFen int64     // > 0
	Subject   string    // shown to the payer by the channel
	CreatedAt time.Time // the attempt's time (UnionPay's txnTime); UTC
	ExpiresAt time.Time // the channel should refuse payment after this
	NotifyURL string    // this merchant's notification door
	ReturnURL string    // where a hosted page sends the payer back
	PayerIP   string    // WeChat H5's scene_info, UnionPay's customerIp
	OpenID    string    // WeChat JSAPI: the payer's openid for the configured appid
	PayerNo   string    // campus card: the cardholder's payer number
	Password  string    // campus card: the password the payer typed
}

// PostForm is a form the payer's browser posts to the company (UnionPay's front
// transaction): the cashier renders it and submits it at once.
type PostForm struct {
	Action string
	Fields map[string]string
}

// PayResult is what the payer does next: scan QRContent, open RedirectURL, post Form, or
// call WeChat's payment sheet with JSAPI. A synchronous channel sets Paid instead.
type PayResult struct {
	QRContent   string
	RedirectURL string
	Form        *PostForm
	JSAPI       map[string]string // appId, timeStamp, nonceStr, package, signType, paySign
	Paid        *Trade
}

// TradeRef names an attempt at the channel. CreatedAt is needed by UnionPay (the
// original txnTime); TradeNo, when known, lets a channel look the trade up by its number.
type TradeRef struct {
	AttemptNo string
	TradeNo   string
	CreatedAt time.Time
}

// RefundOutcome extends RefundStatus with the states real companies report.
const (
	RefundClosed   RefundStatus = "closed"   // the company gave up; the money did not move
	RefundAbnormal RefundStatus = "abnormal" // a person must act (WeChat ABNORMAL)
)

// RefundCall asks for a refund of a paid attempt, or about one already asked for.
type RefundCall struct {
	Trade     TradeRef
	RefundNo  string // the platform's refund number; the company is idempotent on it
	AmountFen int64  // this refund
	TotalFen  int64  // the attempt's amount
	Reason    string
	NotifyURL string
	CreatedAt time.Time // the refund's first request time (UnionPay query needs it)
}

// NoticeKind says what a verified notification means.
type NoticeKind int

const (
	NoticeIgnore NoticeKind = iota // acknowledge and do nothing (e.g. TRADE_CLOSED, WAIT_BUYER_PAY)
	NoticePaid                     // Trade is a paid attempt
	NoticeRefund                   // Refund is a refund result
)

// Notice is a verified, decoded notification.
type Notice struct {
	Kind   NoticeKind
	Trade  Trade        // NoticePaid (and, where the message carries it, the others)
	Refund RefundResult // NoticeRefund
	Reason string       // NoticeIgnore: why, for the record
	Raw    string       // the body as received (decrypted form where the company encrypts)
}

// Ack is the company's acknowledgement format, positive or negative.
type Ack struct {
	Status      int
	ContentType string
	Body        []byte
}

// StatementKind tells a payment line from a refund line.
type StatementKind string

const (
	StatementPayment StatementKind = "payment"
	StatementRefund  StatementKind = "refund"
)

// StatementLine is one normalised line of a company's statement. Reconciliation works on
// these alone.
type StatementLine struct {
	Kind            StatementKind
	AttemptNo       string // our out_trade_no / orderId
	TradeNo         string // the company's trade number
	RefundNo        string // our refund number, where the company's line carries it
	ChannelRefundNo string // the company's refund number, where the line carries it
	AmountFen       int64  // > 0 for both kinds; Kind says the direction
	FeeFen          int64  // the company's fee on this line (may be negative on refunds)
	At              time.Time
	Line            int // where the line is in the raw file (1 = its first line); 0: not said
}

// Statement is a company's statement for one business day: the raw file as downloaded
// (kept by the platform) and its lines, already checked against the file's own totals.
type Statement struct {
	FileName string
	Raw      []byte
	Lines    []StatementLine
}

// Provider is a channel bound to one merchant account.
type Provider interface {
	Pay(ctx context.Context, req PayRequest) (PayResult, error)
	// Query answers TradeWaiting for a trade the company has not seen yet where that
	// means "not paid yet" (Alipay's TRADE_NOT_EXIST after precreate).
	Query(ctx context.Context, ref TradeRef) (Trade, error)
	Close(ctx context.Context, ref TradeRef) error
	Refund(ctx context.Context, call RefundCall) (RefundResult, error)
	QueryRefund(ctx context.Context, call RefundCall) (RefundResult, error)
	// Notification verifies and decodes one notification (payment or refund). It returns
	// ErrBadSignature or ErrMalformed for what must not be believed.
	Notification(ctx context.Context, header http.Header, body []byte) (Notice, error)
	// Ack is the answer to a notification: ok=false asks the company to send it again.
	Ack(ok bool, message string) Ack
	// Statement fetches, checks and parses the statement of one business day
	// (Asia/Shanghai; UnionPay's day ends at 23:00 — the adapter says which lines fall in).
	Statement(ctx context.Context, day time.Time) (Statement, error)
}

// StatementSource is what reconciliation needs of a channel: its statement of one business
// day (Asia/Shanghai), fetched, checked against its own totals and normalised. A Provider
// is one; so are the sandbox and campus card adapters.
type StatementSource interface {
	Statement(ctx context.Context, day time.Time) (Statement, error)
}

// StatementParser reads a statement file of the channel's format that a person uploads
// (the same checks as a fetched one).
type StatementParser interface {
	ParseStatement(raw []byte) (Statement, error)
}

// StatementError is why a statement file was refused whole: the line of the file (1 = the
// first) and the reason in Simplified Chinese, for finance. It wraps ErrMalformed.
type StatementError struct {
	Line   int
	Reason string
}

func (e *StatementError) Error() string { return fmt.Sprintf("第 %d 行：%s", e.Line, e.Reason) }
func (e *StatementError) Unwrap() error { return ErrMalformed }

// Identifier is a Provider that says whose messages it expects: the app id and merchant
// number a company's message about this merchant's trades must carry ("" where there is
// nothing of that kind to check). The core compares them with what a Trade claims.
type Identifier interface {
	Identity() (appID, merchantNo string)
}

// OAuther is a Provider whose way inside an app needs the payer's identity there first
// (WeChat JSAPI: the openid for the merchant's official account, from snsapi_base).
type OAuther interface {
	// OAuthURL is the authorisation address that sends the payer back to redirect with
	// ?code=…&state=….
	OAuthURL(redirect, state string) string
	// OpenID exchanges that code for the payer's openid.
	OpenID(ctx context.Context, code string) (string, error)
}

// FormOriginer is a channel whose payment pages a payer's browser is sent to by a form's
// answer (a redirect to its hosted page) or posts a form to (UnionPay's front
// transaction): the pages' Content-Security-Policy form-action must name these origins.
type FormOriginer interface {
	FormOrigins() []string
}
