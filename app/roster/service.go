// Package roster keeps the payer roster: students' and staff's payer numbers, names,
// classes and phones, loaded from a spreadsheet (validated row by row, all or nothing),
// synced by business systems through the API, and listed for the console. It never
// touches bills or money.
package roster

import (
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/imports"
	"campuspay/store"
)

// Service keeps the roster.
type Service struct {
	DB  *bun.DB
	Now func() time.Time
	Log *slog.Logger
}

func (s *Service) now() time.Time { return store.Now(s.Now) }

// imports runs the roster's spreadsheet imports in the background.
func (s *Service) imports() *imports.Runner {
	return &imports.Runner{DB: s.DB, Now: s.Now, Log: s.Log}
}
