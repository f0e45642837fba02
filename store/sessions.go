package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// Sessions live in the database, so that they survive a restart and every instance behind a
// load balancer sees the same ones: a sign-out, a disabled user or a changed role takes
// effect on every instance at the next request, because every request reads its session
// row afresh (app/auth). The row names its user (user_id) rather than carrying who they are:
// the read joins the user's row, so roles, department and the disabled flag are always
// today's.

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	Key       string `bun:"k,pk"`
	UserID    int64  `bun:"user_id"`
	Value     []byte `bun:"v"`
	ExpiresAt int64  `bun:"expires_at"`
}

// SessionRecord is a session as read, with its user.
type SessionRecord struct {
	Key       string
	Data      []byte // the session's other values, as app/auth encodes them
	ExpiresAt int64  // unix seconds; 0 = never
	UserID    int64  // 0 for a visitor not signed in
	User      *User  // nil when UserID is 0 or the user row is gone
}

// Expired reports whether the session had expired at now.
func (r *SessionRecord) Expired(now time.Time) bool {
	return r.ExpiresAt != 0 && r.ExpiresAt <= now.Unix()
}

// SessionSelect and SessionFrom are the columns and tables a session is read from, for a
// statement that reads a session together with what the page shows (the outstanding-bills
// page): the session's table is aliased s and its user's u. SessionScan gives the
// destinations of the columns, in order.
const (
	SessionSelect = "s.v, s.expires_at, s.user_id, u.id, u.login, u.name, u.roles, u.department_id, u.payer_no, u.disabled"
	SessionFrom   = "sessions AS s LEFT JOIN users AS u ON u.id = s.user_id"
)

// SessionScan reads a row of SessionSelect's columns. Fill it with Dest, scan, then call
// Record.
type SessionScan struct {
	data      []byte
	expiresAt int64
	userID    int64
	uid       sql.NullInt64
	login     sql.NullString
	name      sql.NullString
	roles     sql.NullString
	dept      sql.NullInt64
	payerNo   sql.NullString
	disabled  sql.NullBool
}

// Dest returns the scan destinations of SessionSelect's columns.
func (s *SessionScan) Dest() []any {
	return []any{&s.data, &s.expiresAt, &s.userID, &s.uid, &s.login, &s.name, &s.roles, &s.dept, &s.payerNo, &s.disabled}
}

// Record returns what was scanned as the session named key.
func (s *SessionScan) Record(key string) *SessionRecord {
	r := &SessionRecord{Key: key, Data: append([]byte(nil), s.data...), ExpiresAt: s.expiresAt, UserID: s.userID}
	if s.uid.Valid {
		u := &User{ID: s.uid.Int64, Login: s.login.String, Name: s.name.String, Roles: s.roles.String, Disabled: s.disabled.Bool}
		if s.dept.Valid {
			d := s.dept.Int64
			u.DepartmentID = &d
		}
		if s.payerNo.Valid {
			p := s.payerNo.String
			u.PayerNo = &p
		}
		r.User = u
	}
	return r
}

// LoadSession reads the session key and its user in one statement, or returns nil when
// there is no such session or it has expired.
func LoadSession(ctx context.Context, db bun.IDB, key string, now time.Time) (*SessionRecord, error) {
	if key == "" {
		return nil, nil
	}
	var s SessionScan
	err := db.QueryRowContext(ctx, "SELECT "+SessionSelect+" FROM "+SessionFrom+" WHERE s.k = ?", key).Scan(s.Dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: load session: %w", err)
	}
	r := s.Record(key)
	if r.Expired(now) {
		return nil, nil
	}
	return r, nil
}

// SaveSession writes the session key: its user (0 for none), its other values, and when it
// expires (unix seconds; 0 = never).
func SaveSession(ctx context.Context, db bun.IDB, key string, userID int64, data []byte, expiresAt int64) error {
	if key == "" {
		return errors.New("store: save session: no key")
	}
	if data == nil {
		data = []byte{}
	}
	q := db.NewInsert().Model(&sessionRow{Key: key, UserID: userID, Value: data, ExpiresAt: expiresAt})
	if DialectOf(db) == MySQL {
		q = q.On("DUPLICATE KEY UPDATE").Set("user_id = VALUES(user_id), v = VALUES(v), expires_at = VALUES(expires_at)")
	} else {
		q = q.On("CONFLICT (k) DO UPDATE").Set("user_id = EXCLUDED.user_id, v = EXCLUDED.v, expires_at = EXCLUDED.expires_at")
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("store: save session: %w", err)
	}
	return nil
}

// RenameSession moves the session row from key from to key to with new contents, in one
// statement: the old key ends as the new one starts. It reports whether there was a row to
// move (none: the caller saves the new key with SaveSession).
func RenameSession(ctx context.Context, db bun.IDB, from, to string, userID int64, data []byte, expiresAt int64) (bool, error) {
	if to == "" {
		return false, errors.New("store: rename session: no key")
	}
	if data == nil {
		data = []byte{}
	}
	res, err := db.NewUpdate().Model((*sessionRow)(nil)).Set("k = ?", to).Set("user_id = ?", userID).
		Set("v = ?", data).Set("expires_at = ?", expiresAt).Where("k = ?", from).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: rename session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TouchSession moves a session's expiry without rewriting it.
func TouchSession(ctx context.Context, db bun.IDB, key string, expiresAt int64) error {
	_, err := db.NewUpdate().Model((*sessionRow)(nil)).Set("expires_at = ?", expiresAt).Where("k = ?", key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends the session key.
func DeleteSession(ctx context.Context, db bun.IDB, key string) error {
	if _, err := db.NewDelete().Model((*sessionRow)(nil)).Where("k = ?", key).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user, on every instance at its next request,
// and returns how many there were.
func DeleteUserSessions(ctx context.Context, db bun.IDB, userID int64) (int64, error) {
	res, err := db.NewDelete().Model((*sessionRow)(nil)).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of user %s: %w", strconv.FormatInt(userID, 10), err)
	}
	return res.RowsAffected()
}

// PurgeSessions deletes expired sessions and returns how many.
func PurgeSessions(ctx context.Context, db bun.IDB) (int64, error) {
	res, err := db.NewDelete().Model((*sessionRow)(nil)).
		Where("expires_at > 0 AND expires_at <= ?", time.Now().Unix()).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
