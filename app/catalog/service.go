// Package catalog is the charge-item catalogue: items (收费项目) with their category,
// audience, pricing and window, and their approval workflow (draft → pending → approved ⇄
// suspended → closed, or rejected), each step audited. It never takes, credits or refunds
// money: billing does, for the items catalog has approved.
package catalog

import (
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// Service keeps the catalogue.
type Service struct {
	DB  *bun.DB
	Now func() time.Time
}

func (s *Service) now() time.Time { return store.Now(s.Now) }
