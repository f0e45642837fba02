// Package jobs holds the platform's background jobs, one file each, as plain functions of
// a context, and the one file (scheduler.go) that knows gocron.
package jobs

import (
	"context"
	"log/slog"
	"time"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/store"
)

// ExpireOrders closes open orders past their expiry, releasing their bills.
func ExpireOrders(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		n, err := b.ExpireOrders(ctx)
		if err != nil {
			log.Error("job expire-orders", "err", err)
			markFailed(ctx)
			return
		}
		if n > 0 {
			log.Info("job expire-orders", "closed", n)
		}
	}
}

// QueryOpenOrders asks the channels about open orders that heard nothing for a while.
func QueryOpenOrders(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		n, err := b.SyncOpenOrders(ctx)
		if err != nil {
			log.Error("job query-open-orders", "err", err)
			markFailed(ctx)
			return
		}
		if n > 0 {
			log.Info("job query-open-orders", "paid", n)
		}
	}
}

// PurgeSessions deletes expired sessions, and throttle counters whose window and lock
// have run out (the longest window is the per-account sign-in hour).
func PurgeSessions(b *billing.Service, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		if _, err := store.PurgeSessions(ctx, b.DB); err != nil {
			log.Error("job purge-sessions", "err", err)
			markFailed(ctx)
		}
		if _, err := auth.PurgeThrottles(ctx, b.DB, time.Now(), auth.AccountFailureWindow); err != nil {
			log.Error("job purge-sessions", "err", err)
		}
	}
}
