package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// The SQLite write queue (issue 13.5; figures in docs/PERFORMANCE.md, "SQLite writers
// (issue 13.5)").
//
// SQLite lets one connection write at a time, and every transaction here begins IMMEDIATE,
// so it takes the write lock at BEGIN. Left to SQLite, the writers that find the lock taken
// wait in its busy handler, which sleeps 1, 2, 5, 10 … 100 ms between tries rather than
// waking when the lock comes free: the lock lay idle between transactions, and 8 payments
// in flight went slower than one at a time. So InTx's transactions on a SQLite database
// take turns in Go: each attempt waits for the database's one turn (a channel of one slot;
// goroutines blocked sending on it are served in the order they came, and the slot a
// writer frees goes straight to the first of them), runs, and hands the turn on the moment
// it commits or rolls back.
//
// What queues, and what does not:
//
//   - Only InTx. Every transaction of the payment paths (ApplyTrade, order and attempt
//     creation, refunds, offline imports) runs in InTx; those are the writers that come in
//     crowds. A few single statements on those paths do not (an attempt's pay URL, an
//     order's last query time, a rejected notification's row).
//   - Everything else that writes — bun's RunInTx called directly (sign-in throttle, user
//     and settings changes, the simulators), a single statement on the *bun.DB, the
//     *sql.DB used by hand (as BenchmarkBareSQLCeiling does), another process — waits in
//     SQLite's busy handler as before. While InTx writers follow one another closely such
//     a writer gets the lock in the short gap between two of them; BenchmarkSQLiteWriters
//     ("parallel+plain") measures how long it waits.
//
// Why not queue every writer, in the driver? An earlier draft wrapped the driver's
// connections to queue BEGIN and every INSERT/UPDATE/DELETE, and sent bun's SELECTs to a
// second, read-only pool. That needs the write statements recognised by their text, a
// context flag to tell a connection that its caller already has the turn (the draft set
// it before checking it, so nothing but InTx queued), and the second pool, because a
// writer waiting in the driver already holds a pooled connection: 8 of them waiting would
// leave none for a read the turn's holder makes through the *bun.DB, and neither side
// would move until the timeout. The second pool in turn opened a second set of
// connections per database (and, on a shared in-memory database, would have read another
// database altogether). Queueing in InTx alone, before a connection is taken, has none of
// this: a waiter holds nothing, so nothing it holds can be what the turn's holder needs.
//
// InTx's transactions are not pinned to one connection of their own: database/sql hands
// out the connection freed last first, so one turn after another mostly runs on the same
// connection and finds its page cache still good. Pinning one was tried, measured no clear
// gain, and needed a hook to give the connection back when the database closes.
//
// Why this does not deadlock:
//
//   - A writer waits for the turn before it takes a connection, so waiting writers hold no
//     connection; the holder has one and may take others for reads through the *bun.DB
//     (in WAL mode a read never waits for the write lock).
//   - The turn is given up when the attempt ends, whatever the way (commit, rollback, an
//     error, a panic in fn), before InTx sleeps and retries.
//   - An InTx inside the function of another InTx on the same database (the context says
//     so) could only wait for its caller, which waits for it. It fails at once with
//     ErrNestedTx rather than waiting; without the queue it failed too, after five tries of
//     20 s each in the busy handler. A context that outlives its transaction (kept
//     with context.WithoutCancel, say) no longer counts as holding the turn.
//   - A writer outside InTx inside a transaction function (a write through the *bun.DB
//     rather than the tx) still waits for the holder's own lock in the busy handler until
//     busyTimeout, as it always did.
//   - What is left is as before the queue, only rarer: writers outside InTx wait in the
//     busy handler on a connection of the pool each, and if 7 of them fill the pool
//     beside the holder's, a read the holder makes through the *bun.DB waits until they
//     give up (busyTimeout). No InTx function in the tree reads through the *bun.DB
//     directly (its tx only); TestInTxQueuesSQLiteWriters keeps the plain writers fewer
//     than the pool's connections for this reason. Before the queue, the InTx writers
//     waiting in the busy handler held connections too and made it likely.
//   - No writer waits for ever: the wait ends with the context, or after busyTimeout with
//     ErrWriteQueueTimeout, as SQLite's busy handler would have given up.

// busyTimeout is how long a SQLite writer waits for its turn, in the queue and in SQLite's
// busy handler (PRAGMA busy_timeout) alike, before it gives up.
const busyTimeout = 20 * time.Second

// ErrWriteQueueTimeout is InTx's answer when a SQLite writer waited busyTimeout for its
// turn: the transactions in front held the database that long. It is not retried.
var ErrWriteQueueTimeout = errors.New("store: no turn to write to the sqlite database within " + busyTimeout.String())

// ErrNestedTx is InTx's answer when called inside the function of another InTx on the
// same SQLite database: the inner transaction could only wait for the outer one.
var ErrNestedTx = errors.New("store: InTx inside another InTx on the same sqlite database")

// writeQueue is one SQLite database's turn to write.
type writeQueue struct {
	turn    chan struct{} // holds a value while a writer has the turn
	timeout time.Duration
	waiting atomic.Int32 // writers waiting for the turn now (the tests watch it)
}

func newWriteQueue() *writeQueue {
	return &writeQueue{turn: make(chan struct{}, 1), timeout: busyTimeout}
}

// heldKey is the context key of the turn a transaction function's context carries.
type heldKey struct{}

// heldTurn is a turn taken from q; ended is set when it is given up.
type heldTurn struct {
	q     *writeQueue
	ended atomic.Bool
}

// take waits for the turn, in the order the writers came, until ctx ends or q's timeout.
func (q *writeQueue) take(ctx context.Context) (*heldTurn, error) {
	select {
	case q.turn <- struct{}{}:
		return &heldTurn{q: q}, nil
	default:
	}
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
	timer := time.NewTimer(q.timeout)
	defer timer.Stop()
	select {
	case q.turn <- struct{}{}:
		return &heldTurn{q: q}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, ErrWriteQueueTimeout
	}
}

// release gives the turn to the next writer.
func (t *heldTurn) release() {
	if t.ended.CompareAndSwap(false, true) {
		<-t.q.turn
	}
}

// runInTx is one attempt of InTx on a SQLite database: it waits for the turn, runs fn in
// a transaction, and gives the turn up.
func (q *writeQueue) runInTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	if t, ok := ctx.Value(heldKey{}).(*heldTurn); ok && t.q == q && !t.ended.Load() {
		return ErrNestedTx
	}
	t, err := q.take(ctx)
	if err != nil {
		return err
	}
	defer t.release()
	return db.RunInTx(context.WithValue(ctx, heldKey{}, t), nil, fn)
}

// writeQueueOf returns db's write queue, or nil when db was not opened by OpenSQLite
// (MySQL needs none: it locks rows, not the database). The queue travels with the pool's
// connector, which (*sql.DB).Driver reports.
func writeQueueOf(db *bun.DB) *writeQueue {
	if d, ok := db.DB.Driver().(queuedDriver); ok {
		return d.queue
	}
	return nil
}

// queuedConnector is the SQLite driver's connector with the database's write queue
// beside it. Connections are the driver's own, untouched.
type queuedConnector struct {
	driver.Connector
	queue *writeQueue
}

func (c queuedConnector) Driver() driver.Driver {
	return queuedDriver{Driver: c.Connector.Driver(), queue: c.queue}
}

// queuedDriver is the SQLite driver as (*sql.DB).Driver reports it for a database opened
// by OpenSQLite: the driver itself, carrying that database's queue.
type queuedDriver struct {
	driver.Driver
	queue *writeQueue
}
