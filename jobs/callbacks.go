package jobs

import (
	"context"
	"log/slog"
	"time"

	"campuspay/app/billing"
	"campuspay/app/clients"
	"campuspay/store"
)

// DeliverCallbacks sends the business systems' callbacks that are due, through the clients'
// guarded client (c.Egress), which keeps its connections for the next run.
func DeliverCallbacks(c *clients.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		for {
			delivered, failed, err := c.DeliverEvents(ctx, 200)
			if err != nil {
				log.Error("job deliver-callbacks", "err", err)
				markFailed(ctx)
				return
			}
			if failed > 0 {
				log.Warn("job deliver-callbacks: gave up on callbacks", "failed", failed)
			}
			if delivered < 200 || ctx.Err() != nil {
				return // the queue is drained (or time is up)
			}
		}
	}
}

// PurgeNonces forgets API nonces whose 15-minute window has passed.
func PurgeNonces(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		if err := store.PurgeNonces(ctx, b.DB, time.Now()); err != nil {
			log.Error("job purge-nonces", "err", err)
			markFailed(ctx)
		}
	}
}
