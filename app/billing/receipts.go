package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// issueReceipt numbers and writes the receipt for money credited to one bill by one
// payment. Numbers run per year (Asia/Shanghai) without gaps: the sequence row is bumped in
// the same transaction, so a rolled-back payment takes its number back with it.
func (s *Service) issueReceipt(ctx context.Context, tx bun.Tx, order *store.Order, p *store.Payment, billID, amountFen int64, now time.Time) (string, error) {
	year := p.PaidAt.In(Shanghai).Year()
	seq, err := nextReceiptSeq(ctx, tx, year)
	if err != nil {
		return "", err
	}
	bill := new(store.Bill)
	if err := tx.NewSelect().Model(bill).Relation("Item").Relation("Item.Department").Where("bill.id = ?", billID).Scan(ctx); err != nil {
		return "", fmt.Errorf("billing: receipt bill: %w", err)
	}
	payerNo := ""
	if bill.PayerID != nil {
		tx.NewSelect().Model((*store.User)(nil)).Column("payer_no").Where("id = ?", *bill.PayerID).Scan(ctx, &payerNo)
	}
	r := &store.Receipt{
		ReceiptNo: fmt.Sprintf("%d%08d", year, seq), Year: year, Seq: seq,
		BillID: billID, OrderID: order.ID, PaymentID: p.ID,
		PayerName: bill.PayerName, PayerNo: payerNo, ItemName: bill.Item.Name, Department: bill.Item.Department.Name,
		AmountFen: amountFen, Channel: p.Channel, VerifyToken: randomToken(24), IssuedAt: now,
	}
	if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
		return "", fmt.Errorf("billing: insert receipt: %w", err)
	}
	return r.ReceiptNo, nil
}

// nextReceiptSeq takes the next receipt number of year inside tx.
func nextReceiptSeq(ctx context.Context, tx bun.Tx, year int) (int64, error) {
	res, err := tx.NewUpdate().Model((*store.ReceiptSequence)(nil)).Set("last_no = last_no + 1").Where("year = ?", year).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// The first receipt of the year. Two transactions racing here: one insert fails
		// with a duplicate key and its transaction is retried whole by the caller.
		if _, err := tx.NewInsert().Model(&store.ReceiptSequence{Year: year, LastNo: 1}).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return 0, errRetry
			}
			return 0, fmt.Errorf("billing: receipt sequence: %w", err)
		}
		return 1, nil
	}
	var seq int64
	if err := tx.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", year).Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	return seq, nil
}

// Receipt returns a receipt by its number.
func (s *Service) Receipt(ctx context.Context, receiptNo string) (*store.Receipt, error) {
	r := new(store.Receipt)
	if err := s.DB.NewSelect().Model(r).Where("receipt_no = ?", receiptNo).Scan(ctx); err != nil {
		return nil, notFound(err, "票据不存在")
	}
	return r, nil
}

// ReceiptByToken returns the receipt a verification QR code points to.
func (s *Service) ReceiptByToken(ctx context.Context, token string) (*store.Receipt, error) {
	r := new(store.Receipt)
	if len(token) != 24 {
		return nil, newErr(ErrNotFound, "not_found", "票据不存在")
	}
	if err := s.DB.NewSelect().Model(r).Where("verify_token = ?", token).Scan(ctx); err != nil {
		return nil, notFound(err, "票据不存在")
	}
	return r, nil
}

// OrderReceipts returns the receipts an order's payment produced.
func (s *Service) OrderReceipts(ctx context.Context, orderID int64) ([]*store.Receipt, error) {
	var rs []*store.Receipt
	err := s.DB.NewSelect().Model(&rs).Where("order_id = ?", orderID).OrderExpr("id").Scan(ctx)
	return rs, err
}

// CountPrint records that a receipt was printed once more and returns the new count.
func (s *Service) CountPrint(ctx context.Context, receiptNo, actor string) (int, error) {
	var count int
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*store.Receipt)(nil)).Set("print_count = print_count + 1").Where("receipt_no = ?", receiptNo).Exec(ctx); err != nil {
			return err
		}
		if err := tx.NewSelect().Model((*store.Receipt)(nil)).Column("print_count").Where("receipt_no = ?", receiptNo).Scan(ctx, &count); err != nil {
			return notFound(err, "票据不存在")
		}
		return store.Audit(ctx, tx, &store.AuditLog{At: s.now(), Actor: actor, Action: "receipt.printed", TargetType: "receipt", TargetID: receiptNo, Detail: fmt.Sprintf("count=%d", count)})
	})
	return count, err
}
