package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

// openQueued opens a fresh SQLite database with OpenSQLite, with one counter row and an
// empty table of entries.
func openQueued(t testing.TB) *bun.DB {
	t.Helper()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	if writeQueueOf(db) == nil {
		t.Fatal("OpenSQLite made no write queue")
	}
	return prepareCounters(t, db)
}

// openUnqueued opens a fresh SQLite database as OpenSQLite did before issue 13.5: the same
// settings, no write queue, every writer waiting for the lock in SQLite's busy handler.
func openUnqueued(t testing.TB) *bun.DB {
	t.Helper()
	sqldb, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "busy.db")+"?_txlock=immediate"+
		"&_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if writeQueueOf(db) != nil {
		t.Fatal("a database not opened by OpenSQLite has a write queue")
	}
	return prepareCounters(t, db)
}

func prepareCounters(t testing.TB, db *bun.DB) *bun.DB {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	for _, stmt := range []string{
		"CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
		"CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, note TEXT NOT NULL)",
		"INSERT INTO counters (id, n) VALUES (1, 0)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// bump is a small write transaction like a payment's: read the hot row, write it, insert.
func bump(ctx context.Context, tx bun.Tx) error {
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT n FROM counters WHERE id = 1").Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE counters SET n = ? WHERE id = 1", n+1); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO entries (n, note) VALUES (?, 'tx')", n+1)
	return err
}

func count(t *testing.T, db *bun.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitForWaiting waits until n writers wait for their turn in q.
func waitForWaiting(t *testing.T, q *writeQueue, n int32) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); q.waiting.Load() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writers wait for their turn, want %d", q.waiting.Load(), n)
		}
	}
}

// Many goroutines write at once through InTx, twice as many as the pool has connections,
// each transaction also reading through the *bun.DB (another connection) while it holds
// the turn, and plain writes outside InTx run beside them: all finish, none is lost, none
// fails. (The plain writers are fewer than the pool's connections: each holds one while it
// waits in SQLite's busy handler, and a pool full of them would leave the turn's holder
// no connection to read with until they gave up, with or without the queue.)
func TestInTxQueuesSQLiteWriters(t *testing.T) {
	db := openQueued(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const goroutines, plain, each = 16, 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+plain)
	for range goroutines {
		wg.Go(func() {
			for range each {
				err := InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
					if _, err := db.NewSelect().Table("entries").Count(ctx); err != nil {
						return fmt.Errorf("read through the db inside the transaction: %w", err)
					}
					return bump(ctx, tx)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for g := range plain {
		wg.Go(func() {
			for i := range each {
				if _, err := db.ExecContext(ctx, "INSERT INTO entries (n, note) VALUES (?, 'plain')", g*each+i); err != nil {
					errs <- fmt.Errorf("plain insert: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, db, "SELECT n FROM counters WHERE id = 1"); n != goroutines*each {
		t.Errorf("counter = %d, want %d", n, goroutines*each)
	}
	if n := count(t, db, "SELECT count(*) FROM entries"); n != (goroutines+plain)*each {
		t.Errorf("%d entries, want %d", n, (goroutines+plain)*each)
	}
}

// Transactions that find the turn taken run in the order they came, and a waiting writer
// holds no connection of the pool: with every other connection taken by readers, the
// holder can still read through the *bun.DB.
func TestInTxQueueIsFirstComeFirstServed(t *testing.T) {
	db := openQueued(t)
	q := writeQueueOf(db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	insert := func(note string) func(ctx context.Context, tx bun.Tx) error {
		return func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO entries (n, note) VALUES (0, ?)", note)
			return err
		}
	}
	holding, release := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 10)
	go func() {
		errs <- InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			close(holding)
			<-release
			// Only this transaction's connection is in use: the read takes another.
			if _, err := db.NewSelect().Table("entries").Count(ctx); err != nil {
				return fmt.Errorf("read through the db while writers wait: %w", err)
			}
			return insert("w0")(ctx, tx)
		})
	}()
	<-holding
	for i := 1; i <= 8; i++ {
		go func() { errs <- InTx(ctx, db, insert(fmt.Sprintf("w%d", i))) }()
		waitForWaiting(t, q, int32(i))
	}
	if n := db.Stats().InUse; n != 1 {
		t.Errorf("%d connections in use while 8 writers wait behind one, want 1", n)
	}
	close(release)
	for range 9 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var notes []string
	if err := db.NewSelect().Table("entries").Column("note").OrderExpr("id").Scan(ctx, &notes); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(notes, " "), "w0 w1 w2 w3 w4 w5 w6 w7 w8"; got != want {
		t.Errorf("rows written in the order %q, want %q", got, want)
	}
}

// A transaction waiting for its turn gives up when its context ends, and the queue goes on.
func TestInTxQueueWaitEndsWithContext(t *testing.T) {
	db := openQueued(t)
	q := writeQueueOf(db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			close(holding)
			<-release
			return bump(ctx, tx)
		})
	}()
	<-holding
	wait, stop := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() { waited <- InTx(wait, db, bump) }()
	waitForWaiting(t, q, 1)
	stop()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("InTx waiting for the turn, context cancelled = %v, want %v", err, context.Canceled)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := InTx(ctx, db, bump); err != nil {
		t.Errorf("InTx after the turn was given back = %v", err)
	}
	if n := count(t, db, "SELECT n FROM counters WHERE id = 1"); n != 2 {
		t.Errorf("counter = %d, want 2", n)
	}
}

// A writer that waited the queue's timeout for its turn gets ErrWriteQueueTimeout, and is
// not retried.
func TestInTxQueueTimeout(t *testing.T) {
	db := openQueued(t)
	q := writeQueueOf(db)
	q.timeout = 10 * time.Millisecond // the test's: busyTimeout is 20 s
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
			close(holding)
			<-release
			return bump(ctx, tx)
		})
	}()
	<-holding
	calls := 0
	err := InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error { calls++; return bump(ctx, tx) })
	close(release)
	if !errors.Is(err, ErrWriteQueueTimeout) || calls != 0 {
		t.Errorf("InTx behind a turn held past the timeout = %v after %d calls of fn, want %v after none", err, calls, ErrWriteQueueTimeout)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// An InTx inside another's function on the same database (a mistake: on SQLite it could
// only wait for the outer one) fails at once with ErrNestedTx, and the outer one goes on.
// A context kept from a transaction that has ended no longer holds the turn.
func TestInTxNested(t *testing.T) {
	db := openQueued(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var inner error
	var kept context.Context
	err := InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		inner = InTx(ctx, db, bump)
		kept = context.WithoutCancel(ctx)
		return bump(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, ErrNestedTx) {
		t.Errorf("nested InTx = %v, want %v", inner, ErrNestedTx)
	}
	if err := InTx(kept, db, bump); err != nil {
		t.Errorf("InTx with the context of a transaction that has ended = %v", err)
	}
	if n := count(t, db, "SELECT n FROM counters WHERE id = 1"); n != 2 {
		t.Errorf("counter = %d, want 2", n)
	}
	// Another database's InTx inside the function is no nesting.
	other := openQueued(t)
	err = InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if err := InTx(ctx, other, bump); err != nil {
			return fmt.Errorf("InTx on another database inside the function: %w", err)
		}
		return bump(ctx, tx)
	})
	if err != nil {
		t.Error(err)
	}
}

// The turn is given back however the attempt ends: an error, ErrRetry (InTx runs fn
// again), a panic.
func TestInTxGivesTheTurnBack(t *testing.T) {
	db := openQueued(t)
	q := writeQueueOf(db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	failure := errors.New("fn failed")
	if err := InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error { return failure }); !errors.Is(err, failure) {
		t.Errorf("InTx = %v, want %v", err, failure)
	}
	tries := 0
	if err := InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if tries++; tries < 3 {
			return ErrRetry
		}
		return bump(ctx, tx)
	}); err != nil || tries != 3 {
		t.Errorf("InTx retried = %v after %d tries, want nil after 3", err, tries)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic in fn did not reach InTx's caller")
			}
		}()
		InTx(ctx, db, func(ctx context.Context, tx bun.Tx) error { panic("fn panicked") })
	}()
	if len(q.turn) != 0 {
		t.Fatal("the turn is still taken after InTx returned")
	}
	if err := InTx(ctx, db, bump); err != nil {
		t.Errorf("InTx after errors and a panic = %v", err)
	}
	if n := count(t, db, "SELECT n FROM counters WHERE id = 1"); n != 2 {
		t.Errorf("counter = %d, want 2", n)
	}
}

// A database opened otherwise (here by hand, on MySQL by Open) has no queue, and InTx runs
// on it as before.
func TestInTxWithoutQueue(t *testing.T) {
	db := openUnqueued(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := InTx(ctx, db, bump); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT n FROM counters WHERE id = 1"); n != 1 {
		t.Errorf("counter = %d, want 1", n)
	}
}
