package store

import (
	"time"

	"github.com/uptrace/bun"
)

type ItemStatus string

const (
	ItemDraft     ItemStatus = "draft"
	ItemPending   ItemStatus = "pending"
	ItemApproved  ItemStatus = "approved"
	ItemSuspended ItemStatus = "suspended"
	ItemClosed    ItemStatus = "closed"
	ItemRejected  ItemStatus = "rejected"
)

type Pricing string

const (
	PricingFixed        Pricing = "fixed"         // every bill is the item's price
	PricingPerBill      Pricing = "per_bill"      // each bill carries its own amount
	PricingPayerEntered Pricing = "payer_entered" // the payer enters an amount within bounds
)

type Audience string

const (
	AudienceInternal Audience = "internal"
	AudienceExternal Audience = "external"
	AudienceBoth     Audience = "both"
)

type ChargeItem struct {
	bun.BaseModel `bun:"table:charge_items"`

	ID              int64      `bun:"id,pk,autoincrement"`
	Code            string     `bun:"code"`
	Name            string     `bun:"name"`
	DepartmentID    int64      `bun:"department_id"`
	MerchantID      int64      `bun:"merchant_id"` // 收款商户; 1 is the school's
	Category        string     `bun:"category"`
	Audience        Audience   `bun:"audience"`
	Pricing         Pricing    `bun:"pricing"`
	PriceFen        int64      `bun:"price_fen"`
	MinFen          int64      `bun:"min_fen"`
	MaxFen          int64      `bun:"max_fen"`
	OpensAt         *time.Time `bun:"opens_at"`
	ClosesAt        *time.Time `bun:"closes_at"`
	PartialAllowed  bool       `bun:"partial_allowed"`
	RefundableUntil *time.Time `bun:"refundable_until"`
	Status          ItemStatus `bun:"status"`
	Description     string     `bun:"description"`
	CreatedBy       *int64     `bun:"created_by"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`

	Department *Department `bun:"rel:belongs-to,join:department_id=id"`
}

type BillStatus string

const (
	BillUnpaid    BillStatus = "unpaid"
	BillPartial   BillStatus = "partial"
	BillPaid      BillStatus = "paid"
	BillRefunded  BillStatus = "refunded"
	BillCancelled BillStatus = "cancelled"
)

type Bill struct {
	bun.BaseModel `bun:"table:bills"`

	ID                int64      `bun:"id,pk,autoincrement"`
	BillNo            string     `bun:"bill_no"`
	Source            string     `bun:"source"`
	SourceClient      string     `bun:"source_client"`
	ItemID            int64      `bun:"item_id"`
	PayerID           *int64     `bun:"payer_id"`
	PayerType         string     `bun:"payer_type"`
	PayerName         string     `bun:"payer_name"`
	PayerPhone        string     `bun:"payer_phone"`
	AmountDueFen      int64      `bun:"amount_due_fen"`
	AmountPaidFen     int64      `bun:"amount_paid_fen"`
	AmountRefundedFen int64      `bun:"amount_refunded_fen"`
	Status            BillStatus `bun:"status"`
	Description       string     `bun:"description"`
	DueDate           *time.Time `bun:"due_date,type:date"`
	Metadata          *string    `bun:"metadata"`
	HeldByOrderID     *int64     `bun:"held_by_order_id"`
	HeldUntil         *time.Time `bun:"held_until"`
	PaidAt            *time.Time `bun:"paid_at"`
	Version           int64      `bun:"version"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`

	Item *ChargeItem `bun:"rel:belongs-to,join:item_id=id"`
}

// OutstandingFen is what the payer still owes on the bill.
func (b *Bill) OutstandingFen() int64 {
	if b.Status == BillCancelled {
		return 0
	}
	if d := b.AmountDueFen - b.AmountPaidFen; d > 0 {
		return d
	}
	return 0
}
