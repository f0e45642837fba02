package billing

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"campuspay/store"
)

// maxOutstanding is how many outstanding bills the payer's page lists, of at most
// maxScanned read.
const (
	maxOutstanding = 200
	maxScanned     = 2000
)

// outstandingBillsSQL reads a session, its user, and the user's outstanding bills in one
// statement: the first term's busiest page then costs the database one indexed read
// (sessions by key, users by id, bills by payer and status) and the platform no
// reflection. A session without a user, or a user without bills, gives one row with the
// bill's columns NULL; no session gives no row. The rows are sorted here, not by the
// database: an ORDER BY over the joined rows made MariaDB build a temporary table for every
// page (a seventh of the statement's cost). A payer has a handful of outstanding bills; the
// limit only bounds what a runaway business system could make. The items' names and
// departments come from the catalog cache (itemCatalog): joining them cost MariaDB about a
// fifth of the statement (176 against 143 µs of CPU), for names every payer shares.
var outstandingBillsSQL = "SELECT " + store.SessionSelect + `,
 b.id, b.item_id, b.amount_due_fen, b.amount_paid_fen, b.status, b.description, b.due_date, b.held_until
FROM ` + store.SessionFrom + `
LEFT JOIN bills AS b ON b.payer_id = s.user_id AND s.user_id <> 0 AND b.status IN ('` +
	string(store.BillUnpaid) + `', '` + string(store.BillPartial) + `')
WHERE s.k = ?
LIMIT ` + fmt.Sprint(maxScanned)

// SessionBills returns the session key as read with its user (nil: no such session, or it
// has expired), and, when the session's user holds the payer role, their outstanding bills,
// soonest deadline first, each with its item (name, part payment, merchant) and the item's
// department name, as the catalog cache has them (at most itemCatalogTTL old). The caller
// adopts the session (auth.Sessions.Adopt) before it shows anything: a disabled user's
// bills are read but must not be shown.
func (s *Service) SessionBills(ctx context.Context, key string) (*store.SessionRecord, []*store.Bill, error) {
	if key == "" {
		return nil, nil, nil
	}
	db := s.PageDB
	if db == nil {
		db = s.DB.DB
	}
	stmt, err := outstandingBillsStmt(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	if err := s.pageGate.enter(ctx); err != nil {
		return nil, nil, err
	}
	defer s.pageGate.leave()
	rows, err := stmt.QueryContext(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("billing: outstanding bills: %w", err)
	}
	defer rows.Close()
	var (
		sess  store.SessionScan
		rec   *store.SessionRecord
		bills []*store.Bill
	)
	for rows.Next() {
		var (
			id, itemID, dueFen, paidFen sql.NullInt64
			status, desc                sql.NullString
			due, held                   timeScan
		)
		dest := append(sess.Dest(), &id, &itemID, &dueFen, &paidFen, &status, &desc, &due, &held)
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("billing: outstanding bills: %w", err)
		}
		if rec == nil {
			rec = sess.Record(key)
		}
		if !id.Valid {
			continue
		}
		b := &store.Bill{ID: id.Int64, ItemID: itemID.Int64, AmountDueFen: dueFen.Int64, AmountPaidFen: paidFen.Int64,
			Status: store.BillStatus(status.String), Description: desc.String, DueDate: due.ptr(), HeldUntil: held.ptr()}
		bills = append(bills, b)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("billing: outstanding bills: %w", err)
	}
	if rec == nil || rec.Expired(s.now()) {
		return nil, nil, nil
	}
	if rec.User == nil || !rec.User.HasRole(store.RolePayer) {
		return rec, nil, nil
	}
	if err := s.catalog.fill(ctx, s.DB, bills); err != nil {
		return nil, nil, err
	}
	// Soonest deadline first, bills without one last, then in the order they were made.
	slices.SortFunc(bills, func(a, b *store.Bill) int {
		switch {
		case a.DueDate == nil && b.DueDate != nil:
			return 1
		case a.DueDate != nil && b.DueDate == nil:
			return -1
		case a.DueDate != nil && !a.DueDate.Equal(*b.DueDate):
			return a.DueDate.Compare(*b.DueDate)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(bills) > maxOutstanding {
		bills = bills[:maxOutstanding]
	}
	return rec, bills, nil
}

// pageSlots is how many payers' page statements one instance has in the database at once:
// as many as the page's own connections (store.PageConns), so that a page let through the
// gate finds one free.
//
// In the first hour of term this statement is most of what the database does. Let every
// waiting page into it and, on a database with few cores, they wait there as runnable
// threads, and the operating system, not arrival, decides which goes next. Held back here,
// they wait on a channel, whose senders go in the order they came, and the database works
// on a few at a time. On the 2-core machine, 64 connections asking for the page: a p99 of
// 40–70 ms without the gate, 17–20 ms with it, at the same 7,000 pages/s
// (docs/PERFORMANCE.md, 6 December 2026). Twelve keeps a database with many cores busy
// too: at a millisecond a statement, one instance still sends 12,000 a second.
const pageSlots = store.PageConns

// pageGate admits the payers' page statement to the database pageSlots at a time, first come
// first served. The zero value is ready.
type pageGate struct {
	once  sync.Once
	slots chan struct{}
}

// enter waits for a slot, or until ctx ends (the payer gave up): then it takes none.
func (g *pageGate) enter(ctx context.Context) error {
	g.once.Do(func() { g.slots = make(chan struct{}, pageSlots) })
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("billing: outstanding bills: %w", ctx.Err())
	}
}

// leave gives back the slot enter took.
func (g *pageGate) leave() { <-g.slots }

// outstandingStmts holds outstandingBillsSQL prepared, per database: the database parses
// and plans it once per connection rather than once per page (database/sql prepares it
// again on each connection it runs on).
var outstandingStmts sync.Map // *sql.DB → *sql.Stmt

func outstandingBillsStmt(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	if st, ok := outstandingStmts.Load(db); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, outstandingBillsSQL)
	if err != nil {
		return nil, fmt.Errorf("billing: prepare outstanding bills: %w", err)
	}
	if prev, loaded := outstandingStmts.LoadOrStore(db, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// timeScan scans a DATE or DATETIME column that may be NULL: MySQL's driver gives a
// time.Time, SQLite's gives a time.Time for a declared date type and the stored text
// otherwise.
type timeScan struct {
	t     time.Time
	valid bool
}

func (t *timeScan) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		t.valid = false
		return nil
	case time.Time:
		t.t, t.valid = v, true
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("billing: cannot read %T as a time", v)
}

func (t *timeScan) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.t, t.valid = v, true
			return nil
		}
	}
	return fmt.Errorf("billing: cannot read %q as a time", s)
}

func (t *timeScan) ptr() *time.Time {
	if !t.valid {
		return nil
	}
	v := t.t
	return &v
}
