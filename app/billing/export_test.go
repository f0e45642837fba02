package billing

import (
	"context"

	"github.com/uptrace/bun"
)

// SetAfterBillsRead installs a function CreateOrder runs between reading the bills and
// holding them, so that a test can change a bill at exactly that moment.
func SetAfterBillsRead(s *Service, fn func(ctx context.Context, tx bun.Tx)) { s.afterBillsRead = fn }
