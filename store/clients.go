package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Client is a business system (接入系统) that posts bills through the integration API.
type Client struct {
	bun.BaseModel `bun:"table:clients"`

	ID           int64     `bun:"id,pk,autoincrement"`
	AppID        string    `bun:"app_id"`
	Name         string    `bun:"name"`
	SecretSealed string    `bun:"secret_sealed"`
	AllowedItems string    `bun:"allowed_items"` // comma-separated item codes
	CallbackURL  string    `bun:"callback_url"`
	Roster       bool      `bun:"roster"`
	LegacyMD5    bool      `bun:"legacy_md5"`
	Disabled     bool      `bun:"disabled"`
	SecretSetAt  time.Time `bun:"secret_set_at"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

// Allows reports whether the client may post bills to the item with code.
func (c *Client) Allows(itemCode string) bool {
	for _, code := range strings.Split(c.AllowedItems, ",") {
		if code != "" && code == itemCode {
			return true
		}
	}
	return false
}

type apiNonce struct {
	bun.BaseModel `bun:"table:api_nonces"`

	AppID     string    `bun:"app_id,pk"`
	Nonce     string    `bun:"nonce,pk"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// UseNonce records that a client used nonce, valid until expires; it reports false when
// the client used it before (a replay). The primary key decides, so two copies of one
// request racing each other cannot both pass.
func UseNonce(ctx context.Context, db bun.IDB, appID, nonce string, now, expires time.Time) (bool, error) {
	_, err := db.NewInsert().Model(&apiNonce{AppID: appID, Nonce: nonce, ExpiresAt: UTC(expires)}).Exec(ctx)
	if err == nil {
		return true, nil
	}
	if !IsDuplicate(err) {
		return false, fmt.Errorf("store: nonce: %w", err)
	}
	// Used before: a replay, unless that use has expired (then it may be used again).
	res, err := db.NewUpdate().Model((*apiNonce)(nil)).Set("expires_at = ?", UTC(expires)).
		Where("app_id = ? AND nonce = ? AND expires_at <= ?", appID, nonce, UTC(now)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: nonce: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PurgeNonces deletes nonces whose window has passed.
func PurgeNonces(ctx context.Context, db bun.IDB, now time.Time) error {
	_, err := db.NewDelete().Model((*apiNonce)(nil)).Where("expires_at <= ?", UTC(now)).Exec(ctx)
	return err
}

// APIRequest is one line of a client's request log.
type APIRequest struct {
	bun.BaseModel `bun:"table:api_requests"`

	ID         int64     `bun:"id,pk,autoincrement"`
	AppID      string    `bun:"app_id"`
	Method     string    `bun:"method"`
	Path       string    `bun:"path"`
	Status     int       `bun:"status"`
	ErrorCode  string    `bun:"error_code"`
	Message    string    `bun:"message"`
	DurationMS int       `bun:"duration_ms"`
	RemoteAddr string    `bun:"remote_addr"`
	At         time.Time `bun:"at"`
}

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
