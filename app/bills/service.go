// Package bills keeps bills (应缴款项) before money touches them: added one by one in the
// console, imported from a spreadsheet (all or nothing), or sent by a business system
// (idempotent on its bill number), listed and cancelled while unpaid. It never takes or
// returns money: paying, crediting and refunding a bill are billing's.
package bills

import (
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/catalog"
	"campuspay/app/imports"
	"campuspay/store"
)

// Service keeps the bills.
type Service struct {
	DB *bun.DB
	// Billing makes a bill's pay link and queues the callbacks a bill's change owes.
	Billing *billing.Service
	Now     func() time.Time
	Log     *slog.Logger
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

// catalog reads the charge items bills are made under.
func (s *Service) catalog() *catalog.Service { return &catalog.Service{DB: s.DB, Now: s.Now} }

// imports runs the bill imports in the background.
func (s *Service) imports() *imports.Runner {
	return &imports.Runner{DB: s.DB, Now: s.Now, Log: s.Log}
}
