package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// DefaultMerchantID is the seeded merchant, 学校统一第三方支付公司: every charge item
// collects into it unless it names another.
const DefaultMerchantID int64 = 1

// Merchant is a 收款商户: the school, a department, or a sub-merchant of the school's
// service-provider account. It has one account per payment company.
type Merchant struct {
	bun.BaseModel `bun:"table:merchants"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Name         string    `bun:"name"`
	DepartmentID *int64    `bun:"department_id"`
	Note         string    `bun:"note"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`

	Accounts []*MerchantAccount `bun:"rel:has-many,join:id=merchant_id"`
}

// MerchantAccount is a merchant's account at one payment company: the driver's field
// values, the secret ones sealed, and the last error the company gave.
type MerchantAccount struct {
	bun.BaseModel `bun:"table:merchant_accounts"`

	ID           int64      `bun:"id,pk,autoincrement"`
	MerchantID   int64      `bun:"merchant_id"`
	Channel      string     `bun:"channel"`
	Enabled      bool       `bun:"enabled"`
	Demo         bool       `bun:"demo"`
	PlainValues  string     `bun:"plain_values"`  // JSON object
	SealedValues string     `bun:"sealed_values"` // sealed JSON object
	LastError    string     `bun:"last_error"`
	LastErrorAt  *time.Time `bun:"last_error_at"`
	UpdatedBy    string     `bun:"updated_by"`
	CreatedAt    time.Time  `bun:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at"`
}

// AttemptStatus is where one payment attempt stands.
type AttemptStatus string

const (
	AttemptOpen   AttemptStatus = "open"
	AttemptPaid   AttemptStatus = "paid"
	AttemptClosed AttemptStatus = "closed"
)

// PaymentAttempt is one try at paying an order through one channel and way, under its
// own number at the channel.
type PaymentAttempt struct {
	bun.BaseModel `bun:"table:payment_attempts"`

	ID         int64         `bun:"id,pk,autoincrement"`
	AttemptNo  string        `bun:"attempt_no"`
	OrderID    int64         `bun:"order_id"`
	Seq        int           `bun:"seq"`
	Channel    string        `bun:"channel"`
	MerchantID int64         `bun:"merchant_id"`
	Way        string        `bun:"way"`
	AmountFen  int64         `bun:"amount_fen"`
	Status     AttemptStatus `bun:"status"`
	TradeNo    string        `bun:"trade_no"`
	PayURL     string        `bun:"pay_url"`
	CreatedAt  time.Time     `bun:"created_at"`
	UpdatedAt  time.Time     `bun:"updated_at"`
	ClosedAt   *time.Time    `bun:"closed_at"`
	PaidAt     *time.Time    `bun:"paid_at"`
}

// An item or order inserted without a merchant collects into the school's.
var (
	_ bun.BeforeAppendModelHook = (*ChargeItem)(nil)
	_ bun.BeforeAppendModelHook = (*Order)(nil)
)

func (i *ChargeItem) BeforeAppendModel(_ context.Context, q bun.Query) error {
	if _, ok := q.(*bun.InsertQuery); ok && i.MerchantID == 0 {
		i.MerchantID = DefaultMerchantID
	}
	return nil
}

func (o *Order) BeforeAppendModel(_ context.Context, q bun.Query) error {
	if _, ok := q.(*bun.InsertQuery); ok && o.MerchantID == 0 {
		o.MerchantID = DefaultMerchantID
	}
	return nil
}
