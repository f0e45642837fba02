package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/store"
)

// receiptCredit is money one payment credited to one bill: what a receipt is issued for.
type receiptCredit struct {
	BillID    int64
	AmountFen int64
}

// receiptYear is the year a receipt is numbered in, by one rule wherever receipts are
// numbered: the Asia/bizday.Shanghai year in which the money arrived, i.e. the year of its
// payment's paid_at. For a channel payment that is when the channel took the money (a
// payment at 23:59:59 on 31 December is that year's, however late the notification); for an
// offline collection it is the collection day (paid_at is that day at 00:00 bizday.Shanghai), not
// the day of the import; and a receipt reissued for what a refund left keeps the year of the
// money it stands for, not the year of the refund.
func receiptYear(paidAt time.Time) int { return paidAt.In(bizday.Shanghai).Year() }

// issueReceipts numbers and writes the receipts for what one payment credited, one per
// bill, and returns their numbers. Numbers run per year (receiptYear) without gaps: the
// sequence row is bumped once for all of them in the same transaction, so a rolled-back
// payment takes its numbers back with it.
func issueReceipts(ctx context.Context, tx bun.Tx, order *store.Order, p *store.Payment, credits []receiptCredit, now time.Time) ([]string, error) {
	ids := make([]int64, len(credits))
	for i, c := range credits {
		ids[i] = c.BillID
	}
	var named []struct {
		ID         int64  `bun:"id"`
		PayerName  string `bun:"payer_name"`
		PayerNo    string `bun:"payer_no"`
		ItemName   string `bun:"item_name"`
		Department string `bun:"department"`
	}
	err := tx.NewSelect().TableExpr("bills AS b").
		ColumnExpr("b.id, b.payer_name, COALESCE(u.payer_no, '') AS payer_no, ci.name AS item_name, d.name AS department").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").
		Join("JOIN departments AS d ON d.id = ci.department_id").
		Join("LEFT JOIN users AS u ON u.id = b.payer_id").
		Where("b.id IN (?)", bun.In(ids)).Scan(ctx, &named)
	if err != nil {
		return nil, fmt.Errorf("billing: receipt names: %w", err)
	}
	byID := make(map[int64]int, len(named))
	for i, n := range named {
		byID[n.ID] = i
	}
	year := receiptYear(p.PaidAt)
	first, err := reserveReceiptSeqs(ctx, tx, year, int64(len(credits)))
	if err != nil {
		return nil, err
	}
	rs := make([]*store.Receipt, len(credits))
	nos := make([]string, len(credits))
	for i, c := range credits {
		n := named[byID[c.BillID]]
		seq := first + int64(i)
		rs[i] = &store.Receipt{
			ReceiptNo: fmt.Sprintf("%d%08d", year, seq), Year: year, Seq: seq,
			BillID: c.BillID, OrderID: order.ID, PaymentID: p.ID,
			PayerName: n.PayerName, PayerNo: n.PayerNo, ItemName: n.ItemName, Department: n.Department,
			AmountFen: c.AmountFen, Channel: p.Channel, VerifyToken: randomToken(24), IssuedAt: now,
		}
		nos[i] = rs[i].ReceiptNo
	}
	if _, err := tx.NewInsert().Model(&rs).Exec(ctx); err != nil {
		return nil, fmt.Errorf("billing: insert receipts: %w", err)
	}
	return nos, nil
}

// nextReceiptSeq takes the next receipt number of year inside tx.
func nextReceiptSeq(ctx context.Context, tx bun.Tx, year int) (int64, error) {
	return reserveReceiptSeqs(ctx, tx, year, 1)
}

// reserveReceiptSeqs takes the next n receipt numbers of year inside tx and returns the
// first of them.
func reserveReceiptSeqs(ctx context.Context, tx bun.Tx, year int, n int64) (int64, error) {
	res, err := tx.NewUpdate().Model((*store.ReceiptSequence)(nil)).Set("last_no = last_no + ?", n).Where("year = ?", year).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		// The first receipt of the year. Two transactions racing here: one insert fails
		// with a duplicate key and its transaction is retried whole by the caller.
		if _, err := tx.NewInsert().Model(&store.ReceiptSequence{Year: year, LastNo: n}).Exec(ctx); err != nil {
			if store.IsDuplicate(err) {
				return 0, store.ErrRetry
			}
			return 0, fmt.Errorf("billing: receipt sequence: %w", err)
		}
		return 1, nil
	}
	var last int64
	if err := tx.NewSelect().Model((*store.ReceiptSequence)(nil)).Column("last_no").Where("year = ?", year).Scan(ctx, &last); err != nil {
		return 0, fmt.Errorf("billing: receipt sequence: %w", err)
	}
	return last - n + 1, nil
}

// Receipt returns a receipt by its number.
func (s *Service) Receipt(ctx context.Context, receiptNo string) (*store.Receipt, error) {
	r := new(store.Receipt)
	if err := s.DB.NewSelect().Model(r).Where("receipt_no = ?", receiptNo).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "票据不存在")
	}
	return r, nil
}

// ReceiptByToken returns the receipt a verification QR code points to.
func (s *Service) ReceiptByToken(ctx context.Context, token string) (*store.Receipt, error) {
	r := new(store.Receipt)
	if len(token) != 24 {
		return nil, fault.New(fault.ErrNotFound, "not_found", "票据不存在")
	}
	if err := s.DB.NewSelect().Model(r).Where("verify_token = ?", token).Scan(ctx); err != nil {
		return nil, fault.NotFound(err, "票据不存在")
	}
	return r, nil
}

// OrderReceipts returns the receipts an order's payment produced.
func (s *Service) OrderReceipts(ctx context.Context, orderID int64) ([]*store.Receipt, error) {
	byOrder, err := s.ReceiptsOfOrders(ctx, []int64{orderID})
	return byOrder[orderID], err
}

// ReceiptsOfOrders returns the receipts of several orders at once, by order id.
func (s *Service) ReceiptsOfOrders(ctx context.Context, orderIDs []int64) (map[int64][]*store.Receipt, error) {
	byOrder := make(map[int64][]*store.Receipt, len(orderIDs))
	if len(orderIDs) == 0 {
		return byOrder, nil
	}
	var rs []*store.Receipt
	if err := s.DB.NewSelect().Model(&rs).Where("order_id IN (?)", bun.In(orderIDs)).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: receipts of orders: %w", err)
	}
	for _, r := range rs {
		byOrder[r.OrderID] = append(byOrder[r.OrderID], r)
	}
	return byOrder, nil
}
