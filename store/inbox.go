package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// States of an inbox row: a business system writes it new; the import job claims it
// (importing) and finishes it imported or rejected.
const (
	InboxNew       = "new"
	InboxImporting = "importing"
	InboxImported  = "imported"
	InboxRejected  = "rejected"
)

// InboxBill is one row a business system wrote into the database inbox (inbox_bills).
type InboxBill struct {
	bun.BaseModel `bun:"table:inbox_bills"`

	ID          int64      `bun:"id,pk,autoincrement"`
	AppID       string     `bun:"app_id"`
	BillNo      string     `bun:"bill_no"`
	ItemCode    string     `bun:"item_code"`
	PayerType   string     `bun:"payer_type"`
	PayerID     *string    `bun:"payer_id"`
	PayerName   *string    `bun:"payer_name"`
	PayerPhone  *string    `bun:"payer_phone"`
	Amount      *int64     `bun:"amount"`
	Description *string    `bun:"description"`
	DueDate     *time.Time `bun:"due_date,type:date"`
	Metadata    *string    `bun:"metadata"`
	CreatedAt   time.Time  `bun:"created_at,nullzero,default:current_timestamp"`
	DBUser      string     `bun:"db_user,nullzero,default:''"` // set by the database (MySQL): who wrote the row
	State       string     `bun:"state,nullzero,default:'new'"`
	Error       string     `bun:"error"`
	ProcessedAt *time.Time `bun:"processed_at"`
}

// PendingInbox returns up to limit rows waiting for the import job, oldest first: new rows,
// and rows claimed before staleBefore whose import never finished (the process stopped
// midway; importing again is safe, bill creation being idempotent on bill_no).
func PendingInbox(ctx context.Context, db bun.IDB, staleBefore time.Time, limit int) ([]*InboxBill, error) {
	var rows []*InboxBill
	err := db.NewSelect().Model(&rows).
		Where("state = ? OR (state = ? AND processed_at < ?)", InboxNew, InboxImporting, UTC(staleBefore)).
		OrderExpr("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: pending inbox: %w", err)
	}
	return rows, nil
}

// ClaimInbox marks a pending row importing, and reports whether this caller got it: of two
// importers racing for one row, one wins.
func ClaimInbox(ctx context.Context, db bun.IDB, id int64, now, staleBefore time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*InboxBill)(nil)).
		Set("state = ?", InboxImporting).Set("processed_at = ?", UTC(now)).
		Where("id = ?", id).
		Where("(state = ? OR (state = ? AND processed_at < ?))", InboxNew, InboxImporting, UTC(staleBefore)).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: claim inbox row %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishInbox writes a claimed row's outcome: imported, or rejected with the reason.
func FinishInbox(ctx context.Context, db bun.IDB, id int64, state, reason string, now time.Time) error {
	res, err := db.NewUpdate().Model((*InboxBill)(nil)).
		Set("state = ?", state).Set("error = ?", reason).Set("processed_at = ?", UTC(now)).
		Where("id = ? AND state = ?", id, InboxImporting).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: finish inbox row %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("store: finish inbox row %d: no longer importing", id)
	}
	return nil
}

// DBUser is the database account the platform itself is connected as (MySQL; "" on
// SQLite, which has no accounts): rows it writes into the inbox carry it in db_user.
func DBUser(ctx context.Context, db bun.IDB) (string, error) {
	if DialectOf(db) != MySQL {
		return "", nil
	}
	var u string
	if err := db.NewRaw("SELECT SUBSTRING_INDEX(USER(), '@', 1)").Scan(ctx, &u); err != nil {
		return "", fmt.Errorf("store: database user: %w", err)
	}
	return u, nil
}

// ReleaseInbox hands a claimed row back (new) when its import failed for a reason that is
// not the row's fault (the database went away): the next run tries it again.
func ReleaseInbox(ctx context.Context, db bun.IDB, id int64) error {
	_, err := db.NewUpdate().Model((*InboxBill)(nil)).Set("state = ?", InboxNew).Set("processed_at = NULL").
		Where("id = ? AND state = ?", id, InboxImporting).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: release inbox row %d: %w", id, err)
	}
	return nil
}
