package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/store"
)

// APIBill is a bill as the integration API shows it (API.md, "Objects") — in answers and
// in callbacks alike, and (with the xml tags) in the SOAP service's answers.
type APIBill struct {
	BillNo         string       `json:"bill_no" xml:"bill_no"`
	ItemCode       string       `json:"item_code" xml:"item_code"`
	Payer          APIPayer     `json:"payer" xml:"payer"`
	Amount         int64        `json:"amount" xml:"amount"`
	AmountPaid     int64        `json:"amount_paid" xml:"amount_paid"`
	AmountRefunded int64        `json:"amount_refunded" xml:"amount_refunded"`
	Status         string       `json:"status" xml:"status"`
	Description    string       `json:"description" xml:"description"`
	DueDate        *string      `json:"due_date" xml:"due_date,omitempty"`
	CreatedAt      string       `json:"created_at" xml:"created_at"`
	PaidAt         *string      `json:"paid_at" xml:"paid_at,omitempty"`
	PayURL         string       `json:"pay_url" xml:"pay_url,omitempty"`
	Payments       []APIPayment `json:"payments" xml:"payment"`
	Refunds        []APIRefund  `json:"refunds" xml:"refund"`
}

// APIPayer is a bill's payer in the API.
type APIPayer struct {
	Type  string `json:"type" xml:"type"`
	ID    string `json:"id,omitempty" xml:"id,omitempty"`
	Name  string `json:"name" xml:"name,omitempty"`
	Phone string `json:"phone,omitempty" xml:"phone,omitempty"`
}

// APIPayment is one payment of a bill in the API.
type APIPayment struct {
	OrderNo string `json:"order_no" xml:"order_no"`
	Channel string `json:"channel" xml:"channel"`
	Amount  int64  `json:"amount" xml:"amount"`
	PaidAt  string `json:"paid_at" xml:"paid_at"`
}

// APIRefund is one refund of a bill in the API.
type APIRefund struct {
	RefundNo string `json:"refund_no" xml:"refund_no"`
	Amount   int64  `json:"amount" xml:"amount"`
	Status   string `json:"status" xml:"status"`
}

// APITime formats a time as API.md wants: RFC 3339 with the +08:00 offset.
func APITime(t time.Time) string { return t.In(bizday.Shanghai).Format(time.RFC3339) }

// apiBill builds the API view of a bill inside db (a transaction or the database).
// APIBillOf is the API's view of a bill, with its pay link while it is still to be paid.
func (s *Service) APIBillOf(ctx context.Context, db bun.IDB, b *store.Bill) (*APIBill, error) {
	return buildAPIBill(ctx, db, b, s.BillLink)
}

// buildAPIBill builds the API view of a bill; link, when set, makes the pay link of a bill
// still to be paid.
func buildAPIBill(ctx context.Context, db bun.IDB, b *store.Bill, link func(*store.Bill) string) (*APIBill, error) {
	out := &APIBill{
		BillNo: b.BillNo, Amount: b.AmountDueFen, AmountPaid: b.AmountPaidFen, AmountRefunded: b.AmountRefundedFen,
		Status: string(b.Status), Description: b.Description, CreatedAt: APITime(b.CreatedAt),
		Payer:    APIPayer{Type: b.PayerType, Name: b.PayerName, Phone: b.PayerPhone},
		Payments: []APIPayment{}, Refunds: []APIRefund{},
	}
	if err := db.NewSelect().Model((*store.ChargeItem)(nil)).Column("code").Where("id = ?", b.ItemID).Scan(ctx, &out.ItemCode); err != nil {
		return nil, fmt.Errorf("billing: api bill item: %w", err)
	}
	if b.PayerID != nil {
		if err := db.NewSelect().Model((*store.User)(nil)).Column("payer_no").Where("id = ?", *b.PayerID).Scan(ctx, &out.Payer.ID); err != nil {
			return nil, fmt.Errorf("billing: api bill payer: %w", err)
		}
	}
	if b.DueDate != nil {
		d := b.DueDate.Format("2006-01-02")
		out.DueDate = &d
	}
	if b.PaidAt != nil {
		p := APITime(*b.PaidAt)
		out.PaidAt = &p
	}
	var pays []struct {
		OrderNo string    `bun:"order_no"`
		Channel string    `bun:"channel"`
		Amount  int64     `bun:"amount_fen"`
		PaidAt  time.Time `bun:"paid_at"`
	}
	err := db.NewSelect().TableExpr("order_lines AS l").
		ColumnExpr("o.order_no, p.channel, l.amount_fen, p.paid_at").
		Join("JOIN orders AS o ON o.id = l.order_id").
		Join("JOIN payments AS p ON p.order_id = o.id").
		Where("l.bill_id = ?", b.ID).Where("p.credited_fen > 0").
		OrderExpr("p.paid_at, p.id").Scan(ctx, &pays)
	if err != nil {
		return nil, fmt.Errorf("billing: api bill payments: %w", err)
	}
	for _, p := range pays {
		out.Payments = append(out.Payments, APIPayment{OrderNo: p.OrderNo, Channel: p.Channel, Amount: p.Amount, PaidAt: APITime(p.PaidAt)})
	}
	refunds, err := apiRefundsOf(ctx, db, b.ID)
	if err != nil {
		return nil, err
	}
	out.Refunds = append(out.Refunds, refunds...)
	if link != nil && (b.Status == store.BillUnpaid || b.Status == store.BillPartial) {
		out.PayURL = link(b)
	}
	return out, nil
}

// apiRefundsOf lists a bill's refunds for the API view, oldest first, each under the
// number its requester knows it by: the business system's own refund number, or the
// platform's for a refund made in the console.
func apiRefundsOf(ctx context.Context, db bun.IDB, billID int64) ([]APIRefund, error) {
	var rs []*store.Refund
	if err := db.NewSelect().Model(&rs).Column("refund_no", "client_refund_no", "amount_fen", "status").
		Where("bill_id = ?", billID).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: api bill refunds: %w", err)
	}
	out := make([]APIRefund, 0, len(rs))
	for _, r := range rs {
		no := r.ClientRefundNo
		if no == "" {
			no = r.RefundNo
		}
		out = append(out, APIRefund{RefundNo: no, Amount: r.AmountFen, Status: string(r.Status)})
	}
	return out, nil
}
