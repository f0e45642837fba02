package billing

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// SetAfterBillsRead installs a function CreateOrder runs between reading the bills and
// holding them, so that a test can change a bill at exactly that moment.
func SetAfterBillsRead(s *Service, fn func(ctx context.Context, tx bun.Tx)) { s.afterBillsRead = fn }

// SetAfterCandidates installs a function a numbering round runs between reading the
// receipts to number and numbering them, so that a test can let another instance number
// them at exactly that moment.
func SetAfterCandidates(s *Service, fn func(ctx context.Context)) { s.afterCandidates = fn }

// SetCatalogClock sets the clock the payer's page's item cache ages its entries by.
func SetCatalogClock(s *Service, now func() time.Time) { s.catalog.clock = now }
