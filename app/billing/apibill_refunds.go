package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"campuspay/store"
)

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
