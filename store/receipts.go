package store

import (
	"time"

	"github.com/uptrace/bun"
)

// Receipt is one receipt (票据). A payment writes it unnumbered (ReceiptNo "" and Seq 0, NULL
// in the database); the numberer in app/billing gives it its number in the year moments
// after the payment commits. Numbered reports whether that has happened.
type Receipt struct {
	bun.BaseModel `bun:"table:receipts"`

	ID          int64     `bun:"id,pk,autoincrement"`
	ReceiptNo   string    `bun:"receipt_no,nullzero"`
	Year        int       `bun:"year"`
	Seq         int64     `bun:"seq,nullzero"`
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

// Numbered reports whether the receipt has its number yet.
func (r *Receipt) Numbered() bool { return r.Seq != 0 }

type ReceiptSequence struct {
	bun.BaseModel `bun:"table:receipt_sequences"`

	Year   int   `bun:"year,pk"`
	LastNo int64 `bun:"last_no"`
}
