package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Setting is one of the typed parameters finance and administrators edit (app/settings).
type Setting struct {
	bun.BaseModel `bun:"table:settings"`

	Key       string    `bun:"k,pk"`
	Value     string    `bun:"v"`
	UpdatedBy string    `bun:"updated_by"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// PutSetting inserts or replaces one setting.
func PutSetting(ctx context.Context, db bun.IDB, row *Setting) error {
	res, err := db.NewUpdate().Model(row).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: put setting %s: %w", row.Key, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil && !IsDuplicate(err) {
		return fmt.Errorf("store: put setting %s: %w", row.Key, err)
	}
	return nil
}
