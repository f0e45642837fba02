package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// SSOSession ties a CAS service ticket to the session it opened: the CAS server's
// single-logout request names the ticket, and that session is ended.
type SSOSession struct {
	bun.BaseModel `bun:"table:sso_sessions"`

	Ticket     string    `bun:"ticket,pk"`
	SessionKey string    `bun:"session_key"`
	Login      string    `bun:"login"`
	CreatedAt  time.Time `bun:"created_at"`
}

// PutSSOSession records a ticket's session (a ticket seen again points to the new one).
func PutSSOSession(ctx context.Context, db bun.IDB, row *SSOSession) error {
	row.CreatedAt = UTC(row.CreatedAt)
	q := db.NewInsert().Model(row)
	if DialectOf(db) == MySQL {
		q = q.On("DUPLICATE KEY UPDATE").Set("session_key = VALUES(session_key), login = VALUES(login), created_at = VALUES(created_at)")
	} else {
		q = q.On("CONFLICT (ticket) DO UPDATE").Set("session_key = EXCLUDED.session_key, login = EXCLUDED.login, created_at = EXCLUDED.created_at")
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("store: sso session: %w", err)
	}
	return nil
}

// EndSSOSession deletes the session a ticket opened, and the ticket's mapping, in one
// transaction. It returns the mapping, or nil when the ticket opened no session here.
func EndSSOSession(ctx context.Context, db *bun.DB, ticket string) (*SSOSession, error) {
	row := new(SSOSession)
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(row).Where("ticket = ?", ticket).Scan(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("k = ?", row.SessionKey).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*SSOSession)(nil)).Where("ticket = ?", ticket).Exec(ctx)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: end sso session: %w", err)
	}
	return row, nil
}

// PurgeSSOSessions forgets the tickets of sessions opened before t (those sessions have
// expired by then) and returns how many.
func PurgeSSOSessions(ctx context.Context, db bun.IDB, before time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*SSOSession)(nil)).Where("created_at < ?", UTC(before)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: purge sso sessions: %w", err)
	}
	return res.RowsAffected()
}
