package store

import (
	"time"

	"github.com/uptrace/bun"
)

type OrderStatus string

const (
	OrderOpen   OrderStatus = "open"
	OrderPaid   OrderStatus = "paid"
	OrderClosed OrderStatus = "closed"
)

type Order struct {
	bun.BaseModel `bun:"table:orders"`

	ID            int64       `bun:"id,pk,autoincrement"`
	OrderNo       string      `bun:"order_no"`
	PayerID       *int64      `bun:"payer_id"`
	PayerName     string      `bun:"payer_name"`
	PayerPhone    string      `bun:"payer_phone"`
	Channel       string      `bun:"channel"` // the channel of the latest attempt
	MerchantID    int64       `bun:"merchant_id"`
	TotalFen      int64       `bun:"total_fen"`
	Status        OrderStatus `bun:"status"`
	PayURL        string      `bun:"pay_url"`
	ExpiresAt     time.Time   `bun:"expires_at"`
	PaidAt        *time.Time  `bun:"paid_at"`
	ClosedAt      *time.Time  `bun:"closed_at"`
	LastQueriedAt *time.Time  `bun:"last_queried_at"`
	CreatedAt     time.Time   `bun:"created_at"`
	UpdatedAt     time.Time   `bun:"updated_at"`

	Lines []*OrderLine `bun:"rel:has-many,join:id=order_id"`
}

type OrderLine struct {
	bun.BaseModel `bun:"table:order_lines"`

	ID        int64 `bun:"id,pk,autoincrement"`
	OrderID   int64 `bun:"order_id"`
	BillID    int64 `bun:"bill_id"`
	AmountFen int64 `bun:"amount_fen"`

	Bill *Bill `bun:"rel:belongs-to,join:bill_id=id"`
}

type Payment struct {
	bun.BaseModel `bun:"table:payments"`

	ID          int64     `bun:"id,pk,autoincrement"`
	OrderID     int64     `bun:"order_id"`
	AttemptNo   string    `bun:"attempt_no"` // the attempt it paid; "" before attempts existed
	Channel     string    `bun:"channel"`
	TradeNo     string    `bun:"trade_no"`
	AmountFen   int64     `bun:"amount_fen"`
	CreditedFen int64     `bun:"credited_fen"`
	Late        bool      `bun:"late"`
	PaidAt      time.Time `bun:"paid_at"`
	Raw         string    `bun:"raw"`
	CreatedAt   time.Time `bun:"created_at"`
}

// OverpaymentStatus is where money paid beyond a bill stands: open until a refund returns it.
type OverpaymentStatus string

const (
	OverpaymentOpen     OverpaymentStatus = "open"
	OverpaymentRefunded OverpaymentStatus = "refunded"
)

type Overpayment struct {
	bun.BaseModel `bun:"table:overpayments"`

	ID        int64             `bun:"id,pk,autoincrement"`
	PaymentID int64             `bun:"payment_id"`
	OrderID   int64             `bun:"order_id"`
	BillID    *int64            `bun:"bill_id"`
	AmountFen int64             `bun:"amount_fen"`
	Status    OverpaymentStatus `bun:"status"`
	CreatedAt time.Time         `bun:"created_at"`
}

type Notification struct {
	bun.BaseModel `bun:"table:notifications"`

	ID         int64     `bun:"id,pk,autoincrement"`
	Channel    string    `bun:"channel"`
	MerchantID *int64    `bun:"merchant_id"` // the door it came through; nil: the channel's old door
	OrderNo    string    `bun:"order_no"`
	Headers    string    `bun:"headers"`
	Body       string    `bun:"body"`
	Outcome    string    `bun:"outcome"`
	Error      string    `bun:"error"`
	RemoteAddr string    `bun:"remote_addr"`
	ReceivedAt time.Time `bun:"received_at"`
}
