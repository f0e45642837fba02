package billing

import (
	"context"

	"github.com/uptrace/bun"
)

// apiRefundsOf lists a bill's refunds for the API view. Refunds arrive with the console's
// refund work; until then a bill has none.
func apiRefundsOf(ctx context.Context, db bun.IDB, billID int64) ([]APIRefund, error) {
	return nil, nil
}
