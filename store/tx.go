package store

import (
	"context"
	"errors"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// InTx runs fn in a transaction, retrying a few times when the database reports a
// deadlock or a lock timeout, or fn returns ErrRetry (the transaction was rolled back
// whole, so a retry is safe). On SQLite each attempt first waits for its turn to write,
// behind the InTx transactions that came before it (writequeue.go), and gives the turn up
// when it ends; an InTx inside another's function on the same SQLite database fails at
// once with ErrNestedTx.
func InTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	q := writeQueueOf(db)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if q != nil {
			err = q.runInTx(ctx, db, fn)
		} else {
			err = db.RunInTx(ctx, nil, fn)
		}
		if err == nil || !(IsRetryable(err) || errors.Is(err, ErrRetry)) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

// ErrRetry asks InTx to run the transaction again (a benign race was lost).
var ErrRetry = errors.New("store: retry transaction")

// IsRetryable reports whether err is a deadlock or a lock wait timeout (MySQL 1213, 1205;
// SQLite busy or locked): the transaction was rolled back whole and may run again.
func IsRetryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED
	}
	return false
}

// ForUpdate adds a locking read on MySQL; SQLite transactions already hold the write lock
// from their first statement (BEGIN IMMEDIATE).
func ForUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if DialectOf(q.DB()) == MySQL {
		return q.For("UPDATE")
	}
	return q
}
