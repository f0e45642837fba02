package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/billing"
)

// NumberReceipts numbers the receipts still waiting for their numbers. Each payment wakes
// its instance's numberer as it commits, so this finds work only when that did not happen:
// an instance stopped or crashed between a payment's commit and the numbering. Run it every
// few seconds; it runs through the same numberer (billing.Service.NumberReceipts), so it
// never gives a receipt a second number or skips one.
func NumberReceipts(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		if err := b.NumberReceipts(ctx); err != nil {
			log.Error("job number-receipts", "err", err)
			markFailed(ctx)
		}
	}
}
