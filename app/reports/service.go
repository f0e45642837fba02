// Package reports holds the read models: searches of orders, payments, bills and refunds
// and their exports, collection statistics and their daily snapshots, an item's progress
// and its unpaid payers, and the lists of offline collections. It reads only: it never
// writes money (the statistics snapshots it keeps are its own derived rows).
package reports

import (
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/store"
)

// Service answers the read models.
type Service struct {
	DB *bun.DB
	// Channels are the configured channels (billing's map: the search forms offer them).
	Channels map[string]channel.Channel
	Now      func() time.Time
	Log      *slog.Logger
}

func (s *Service) now() time.Time { return store.Now(s.Now) }
