package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Event is an outbox row: a callback to deliver to a business system.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID          int64      `bun:"id,pk,autoincrement"`
	EventID     string     `bun:"event_id"`
	Client      string     `bun:"client"`
	Type        string     `bun:"type"`
	Payload     string     `bun:"payload"`
	Status      string     `bun:"status"`
	Attempts    int        `bun:"attempts"`
	NextAt      time.Time  `bun:"next_at"`
	LastStatus  int        `bun:"last_status"`
	LastError   string     `bun:"last_error"`
	CreatedAt   time.Time  `bun:"created_at"`
	DeliveredAt *time.Time `bun:"delivered_at"`
}

type Setting struct {
	bun.BaseModel `bun:"table:settings"`

	Key       string    `bun:"k,pk"`
	Value     string    `bun:"v"`
	UpdatedBy string    `bun:"updated_by"`
	UpdatedAt time.Time `bun:"updated_at"`
}

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
