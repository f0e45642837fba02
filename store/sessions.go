package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// SessionStorage is a fiber.Storage over the sessions table, so that sessions survive a
// restart and are shared by every instance behind a load balancer.
type SessionStorage struct {
	DB *bun.DB
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	Key       string `bun:"k,pk"`
	Value     []byte `bun:"v"`
	ExpiresAt int64  `bun:"expires_at"`
}

func (s *SessionStorage) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Get returns the value of key, or nil when it is missing or expired.
func (s *SessionStorage) Get(key string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	row := new(sessionRow)
	err := s.DB.NewSelect().Model(row).Where("k = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if row.ExpiresAt != 0 && row.ExpiresAt <= time.Now().Unix() {
		return nil, nil
	}
	return row.Value, nil
}

// Set stores val under key for exp (0: no expiry).
func (s *SessionStorage) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	row := &sessionRow{Key: key, Value: val}
	if exp > 0 {
		row.ExpiresAt = time.Now().Add(exp).Unix()
	}
	q := s.DB.NewInsert().Model(row)
	if DialectOf(s.DB) == MySQL {
		q = q.On("DUPLICATE KEY UPDATE").Set("v = VALUES(v), expires_at = VALUES(expires_at)")
	} else {
		q = q.On("CONFLICT (k) DO UPDATE").Set("v = EXCLUDED.v, expires_at = EXCLUDED.expires_at")
	}
	_, err := q.Exec(ctx)
	return err
}

// Delete removes key.
func (s *SessionStorage) Delete(key string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.DB.NewDelete().Model((*sessionRow)(nil)).Where("k = ?", key).Exec(ctx)
	return err
}

// Reset removes every session.
func (s *SessionStorage) Reset() error {
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.DB.NewDelete().Model((*sessionRow)(nil)).Where("1 = 1").Exec(ctx)
	return err
}

// Close does nothing: the database belongs to the caller.
func (s *SessionStorage) Close() error { return nil }

// PurgeSessions deletes expired sessions and returns how many.
func PurgeSessions(ctx context.Context, db bun.IDB) (int64, error) {
	res, err := db.NewDelete().Model((*sessionRow)(nil)).
		Where("expires_at > 0 AND expires_at <= ?", time.Now().Unix()).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
