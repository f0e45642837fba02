package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// AuditLog is who did what to which record, from where, when.
type AuditLog struct {
	bun.BaseModel `bun:"table:audit_logs"`

	ID         int64     `bun:"id,pk,autoincrement"`
	At         time.Time `bun:"at"`
	Actor      string    `bun:"actor"`
	Action     string    `bun:"action"`
	TargetType string    `bun:"target_type"`
	TargetID   string    `bun:"target_id"`
	Detail     string    `bun:"detail"`
	IP         string    `bun:"ip"`
}

// Audit writes one audit log row.
func Audit(ctx context.Context, db bun.IDB, row *AuditLog) error {
	if row.At.IsZero() {
		row.At = time.Now()
	}
	row.At = UTC(row.At)
	if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}
