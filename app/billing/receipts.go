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

// issueReceipts writes the receipts for what one payment credited, one per bill, unnumbered,
// and returns how many it wrote. Their numbers come from the numberer (numbering.go) once
// the payment has committed: the caller kicks it then. The payment's transaction never
// touches the year's sequence row, which every payment of the year would otherwise wait
// for through each other's COMMIT.
func issueReceipts(ctx context.Context, tx bun.Tx, order *store.Order, p *store.Payment, credits []receiptCredit, now time.Time) (int, error) {
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
		return 0, fmt.Errorf("billing: receipt names: %w", err)
	}
	byID := make(map[int64]int, len(named))
	for i, n := range named {
		byID[n.ID] = i
	}
	year := receiptYear(p.PaidAt)
	rs := make([]*store.Receipt, len(credits))
	for i, c := range credits {
		n := named[byID[c.BillID]]
		rs[i] = &store.Receipt{
			Year:   year, // ReceiptNo and Seq stay NULL until numbered
			BillID: c.BillID, OrderID: order.ID, PaymentID: p.ID,
			PayerName: n.PayerName, PayerNo: n.PayerNo, ItemName: n.ItemName, Department: n.Department,
			AmountFen: c.AmountFen, Channel: p.Channel, VerifyToken: randomToken(24), IssuedAt: now,
		}
	}
	if _, err := tx.NewInsert().Model(&rs).Exec(ctx); err != nil {
		return 0, fmt.Errorf("billing: insert receipts: %w", err)
	}
	return len(rs), nil
}

// Receipt returns a receipt by its number.
func (s *Service) Receipt(ctx context.Context, receiptNo string) (*store.Receipt, error) {
	r := new(store.Receipt)
	if receiptNo == "" {
		return nil, fault.New(fault.ErrNotFound, "not_found", "票据不存在")
	}
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
	if err := s.awaitNumbers(ctx, []*store.Receipt{r}); err != nil {
		return nil, err
	}
	return r, nil
}

// OrderReceipts returns the receipts an order's payment produced, numbered: a receipt the
// payment has just written is waited for (awaitNumbers); one still unnumbered after that
// has ReceiptNo "" (the page says 编号中).
func (s *Service) OrderReceipts(ctx context.Context, orderID int64) ([]*store.Receipt, error) {
	byOrder, err := s.ReceiptsOfOrders(ctx, []int64{orderID})
	return byOrder[orderID], err
}

// ReceiptsOfOrders returns the receipts of several orders at once, by order id, numbered as
// OrderReceipts says.
func (s *Service) ReceiptsOfOrders(ctx context.Context, orderIDs []int64) (map[int64][]*store.Receipt, error) {
	byOrder := make(map[int64][]*store.Receipt, len(orderIDs))
	if len(orderIDs) == 0 {
		return byOrder, nil
	}
	var rs []*store.Receipt
	if err := s.DB.NewSelect().Model(&rs).Where("order_id IN (?)", bun.In(orderIDs)).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: receipts of orders: %w", err)
	}
	if err := s.awaitNumbers(ctx, rs); err != nil {
		return nil, err
	}
	for _, r := range rs {
		byOrder[r.OrderID] = append(byOrder[r.OrderID], r)
	}
	return byOrder, nil
}
