package jobs

import (
	"context"
	"log/slog"

	"campuspay/app/billing"
)

// SyncRefunds follows up refunds left approved or processing (the channel did not answer):
// it asks the channel again and records the outcome.
func SyncRefunds(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		n, err := b.SyncProcessingRefunds(ctx)
		if err != nil {
			log.Error("job sync-refunds", "err", err)
			markFailed(ctx)
			return
		}
		if n > 0 {
			log.Info("job sync-refunds", "finished", n)
		}
	}
}
