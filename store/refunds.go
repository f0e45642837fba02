package store

import (
	"time"

	"github.com/uptrace/bun"
)

// RefundStatus is where a refund stands (see sql/*/0003_refunds.sql).
type RefundStatus string

const (
	RefundPending    RefundStatus = "pending"    // asked for, waiting for finance
	RefundApproved   RefundStatus = "approved"   // approved, not yet sent to the channel
	RefundProcessing RefundStatus = "processing" // sent; the channel's answer is awaited
	RefundSucceeded  RefundStatus = "succeeded"
	RefundFailed     RefundStatus = "failed"
	RefundRejected   RefundStatus = "rejected"
)

// Refund sources.
const (
	RefundSourceConsole = "console"
	RefundSourceAPI     = "api"
)

// Refund returns money from one payment: to the payer of one bill, or an overpayment.
type Refund struct {
	bun.BaseModel `bun:"table:refunds"`

	ID              int64        `bun:"id,pk,autoincrement"`
	RefundNo        string       `bun:"refund_no"`
	BillID          *int64       `bun:"bill_id"`
	OrderID         int64        `bun:"order_id"`
	PaymentID       int64        `bun:"payment_id"`
	OverpaymentID   *int64       `bun:"overpayment_id"`
	AmountFen       int64        `bun:"amount_fen"`
	Reason          string       `bun:"reason"`
	Status          RefundStatus `bun:"status"`
	RequestedBy     string       `bun:"requested_by"`
	RequestedAt     time.Time    `bun:"requested_at"`
	DecidedBy       string       `bun:"decided_by"`
	DecidedAt       *time.Time   `bun:"decided_at"`
	DecisionNote    string       `bun:"decision_note"`
	Channel         string       `bun:"channel"`
	ChannelRefundNo string       `bun:"channel_refund_no"`
	ChannelMessage  string       `bun:"channel_message"`
	Source          string       `bun:"source"`
	SourceClient    string       `bun:"source_client"`
	ClientRefundNo  string       `bun:"client_refund_no"`
	CreatedAt       time.Time    `bun:"created_at"`
	UpdatedAt       time.Time    `bun:"updated_at"`
	FinishedAt      *time.Time   `bun:"finished_at"`
	// SyncAttempts counts the follow-ups of a refund the channel gave no outcome for;
	// NextSyncAt is when it is asked again; EscalatedAt when it was put before finance.
	SyncAttempts int        `bun:"sync_attempts"`
	NextSyncAt   *time.Time `bun:"next_sync_at"`
	EscalatedAt  *time.Time `bun:"escalated_at"`

	Bill    *Bill    `bun:"rel:belongs-to,join:bill_id=id"`
	Order   *Order   `bun:"rel:belongs-to,join:order_id=id"`
	Payment *Payment `bun:"rel:belongs-to,join:payment_id=id"`
}

// ReceiptRow is a receipt as the console lists, prints and reissues it: with the receipt it
// replaces (a partial refund voids a receipt and issues one for what is left) and, when read,
// the number of its order.
type ReceiptRow struct {
	Receipt `bun:",extend"`

	ReplacesNo string `bun:"replaces_no"`
	OrderNo    string `bun:"order_no,scanonly"`
}
