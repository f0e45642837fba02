package store

import (
	"time"

	"github.com/uptrace/bun"
)

type Receipt struct {
	bun.BaseModel `bun:"table:receipts"`

	ID          int64     `bun:"id,pk,autoincrement"`
	ReceiptNo   string    `bun:"receipt_no"`
	Year        int       `bun:"year"`
	Seq         int64     `bun:"seq"`
	BillID      int64     `bun:"bill_id"`
	OrderID     int64     `bun:"order_id"`
	PaymentID   int64     `bun:"payment_id"`
	PayerName   string    `bun:"payer_name"`
	PayerNo     string    `bun:"payer_no"`
	ItemName    string    `bun:"item_name"`
	Department  string    `bun:"department"`
	AmountFen   int64     `bun:"amount_fen"`
	Channel     string    `bun:"channel"`
	VerifyToken string    `bun:"verify_token"`
	PrintCount  int       `bun:"print_count"`
	Voided      bool      `bun:"voided"`
	VoidReason  string    `bun:"void_reason"`
	IssuedAt    time.Time `bun:"issued_at"`
}

type ReceiptSequence struct {
	bun.BaseModel `bun:"table:receipt_sequences"`

	Year   int   `bun:"year,pk"`
	LastNo int64 `bun:"last_no"`
}
