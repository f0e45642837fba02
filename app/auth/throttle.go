package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/feature"

	"campuspay/store"
)

// Limit is one throttle: at most Max hits per key within Window. With LockFor set, the
// Max-th hit also locks the key for LockFor from that moment (a guessing limit: the
// lock is in place before the guess is checked); without it, a key over Max is refused
// until its window ends (a rate limit).
type Limit struct {
	Scope   string
	Max     int
	Window  time.Duration
	LockFor time.Duration
}

// Verdict is what one hit on a throttle decided.
type Verdict struct {
	Allowed bool
	Hits    int       // hits in the window, this one included
	Until   time.Time // when refused: when the key may try again
}

// RetryAfter is how long a refused caller should wait, rounded up to whole seconds.
func (v Verdict) RetryAfter(now time.Time) time.Duration {
	secs := (v.Until.Sub(now) + time.Second - 1) / time.Second
	return max(1, secs) * time.Second
}

// maxKey is the longest key stored as it is; a longer one is stored as its SHA-256.
const maxKey = 160

func throttleKey(key string) string {
	if len(key) <= maxKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Hit counts one hit on key and says whether it is allowed. The count is one
// insert-or-increment statement, which also sets the lock when this hit is the Max-th of
// a guessing limit, so concurrent hits, on one instance or several, are each counted once
// and in order: of forty simultaneous hits on a limit of five, exactly five are allowed.
// Where the database returns what the statement wrote (SQLite, MariaDB: RETURNING) that
// one statement is all; elsewhere (MySQL, TiDB) the row is read back in the statement's
// transaction, which keeps it locked until then.
func Hit(ctx context.Context, db *bun.DB, l Limit, key string, now time.Time) (Verdict, error) {
	key = throttleKey(key)
	nowMS, startBefore := now.UnixMilli(), now.Add(-l.Window).UnixMilli()
	// lockAt is what locked_until becomes when this hit is the Max-th (0: a rate limit,
	// which sets no lock).
	var lockAt int64
	if l.LockFor > 0 {
		lockAt = now.Add(l.LockFor).UnixMilli()
	}
	firstLock := int64(0)
	if l.Max == 1 {
		firstLock = lockAt
	}
	// A row starts again at one when its lock has run out, or, unlocked, when its window
	// has. A row still locked keeps its lock (and counts on); otherwise the lock is set
	// when the count after this hit is Max.
	expired := "(locked_until <= ? AND (locked_until > 0 OR window_start <= ?))"
	counted := "CASE WHEN " + expired + " THEN 1 ELSE hits + 1 END"
	set := "hits = " + counted + ", " +
		"window_start = CASE WHEN " + expired + " THEN ? ELSE window_start END, "
	args := []any{l.Scope, key, nowMS, firstLock, nowMS, startBefore, nowMS, startBefore, nowMS}
	insert := "INSERT INTO throttles (scope, k, hits, window_start, locked_until) VALUES (?, ?, 1, ?, ?) "
	if store.DialectOf(db) == store.SQLite {
		// Every expression sees the row as it was: the count after this hit is counted.
		insert += "ON CONFLICT (scope, k) DO UPDATE SET "
		set += "locked_until = CASE WHEN locked_until > ? THEN locked_until WHEN " + counted + " = ? THEN ? ELSE 0 END"
		args = append(args, nowMS, nowMS, startBefore, l.Max, lockAt)
	} else {
		// MySQL assigns left to right, each expression seeing the columns already
		// assigned: locked_until's CASE, last, reads the old locked_until (its own) and the
		// new hits, the count after this hit.
		insert += "ON DUPLICATE KEY UPDATE "
		set += "locked_until = CASE WHEN locked_until > ? THEN locked_until WHEN hits = ? THEN ? ELSE 0 END"
		args = append(args, nowMS, l.Max, lockAt)
	}
	var row struct {
		Hits        int   `bun:"hits"`
		WindowStart int64 `bun:"window_start"`
		LockedUntil int64 `bun:"locked_until"`
	}
	hit := func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, insert+set, args...); err != nil {
			return err
		}
		return tx.NewSelect().Table("throttles").Column("hits", "window_start", "locked_until").
			Where("scope = ? AND k = ?", l.Scope, key).Scan(ctx, &row)
	}
	run := func() error { return db.RunInTx(ctx, nil, hit) }
	if db.Dialect().Features().Has(feature.InsertReturning) && !hitReadsBack {
		run = func() error {
			return db.NewRaw(insert+set+" RETURNING hits, window_start, locked_until", args...).Scan(ctx, &row)
		}
	}
	err := run()
	for try := 0; try < 4 && store.IsDeadlock(err); try++ {
		err = run() // rolled back whole: count again
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("auth: throttle %s: %w", l.Scope, err)
	}
	v := Verdict{Hits: row.Hits}
	switch {
	case lockAt > 0 && row.Hits == l.Max && row.LockedUntil == lockAt:
		v.Allowed = true // the Max-th guess: allowed, and the lock is in place before it is checked
	case row.LockedUntil > nowMS:
		v.Until = time.UnixMilli(row.LockedUntil)
	case row.Hits > l.Max:
		v.Until = time.UnixMilli(row.WindowStart).Add(l.Window)
	default:
		v.Allowed = true
	}
	return v, nil
}

// hitReadsBack makes Hit read the row back in a transaction even where the database could
// return it: MySQL's and TiDB's way, which the tests take on SQLite and MariaDB too.
var hitReadsBack = false

// Peek says whether key is allowed now, without counting a hit: for a limit that counts
// failures after the fact (Hit once the attempt failed).
func Peek(ctx context.Context, db bun.IDB, l Limit, key string, now time.Time) (Verdict, error) {
	var row struct {
		Hits        int   `bun:"hits"`
		WindowStart int64 `bun:"window_start"`
		LockedUntil int64 `bun:"locked_until"`
	}
	err := db.NewSelect().Table("throttles").Column("hits", "window_start", "locked_until").
		Where("scope = ? AND k = ?", l.Scope, throttleKey(key)).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return Verdict{Allowed: true}, nil
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("auth: throttle %s: %w", l.Scope, err)
	}
	nowMS := now.UnixMilli()
	switch {
	case row.LockedUntil > nowMS:
		return Verdict{Hits: row.Hits, Until: time.UnixMilli(row.LockedUntil)}, nil
	case row.LockedUntil == 0 && row.WindowStart > now.Add(-l.Window).UnixMilli() && row.Hits >= l.Max:
		return Verdict{Hits: row.Hits, Until: time.UnixMilli(row.WindowStart).Add(l.Window)}, nil
	}
	return Verdict{Hits: row.Hits, Allowed: true}, nil
}

// Forgive takes back one hit on key (it turned out not to be a guess: the password was
// right), and the lock that hit set, if it was the one that reached the limit.
func Forgive(ctx context.Context, db bun.IDB, l Limit, key string) error {
	// locked_until first: MySQL assigns left to right, and the CASE must see the old hits.
	_, err := db.NewUpdate().Table("throttles").
		Set("locked_until = CASE WHEN hits <= ? THEN 0 ELSE locked_until END", l.Max).
		Set("hits = CASE WHEN hits > 0 THEN hits - 1 ELSE 0 END").
		Where("scope = ? AND k = ?", l.Scope, throttleKey(key)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("auth: throttle %s: forgive: %w", l.Scope, err)
	}
	return nil
}

// Clear forgets every hit and any lock on key.
func Clear(ctx context.Context, db bun.IDB, scope, key string) error {
	if _, err := db.NewDelete().Table("throttles").Where("scope = ? AND k = ?", scope, throttleKey(key)).Exec(ctx); err != nil {
		return fmt.Errorf("auth: throttle %s: clear: %w", scope, err)
	}
	return nil
}

// PurgeThrottles deletes the rows whose window and lock ended before now (a job calls it
// with the sessions' purge); longest is the longest window of any limit.
func PurgeThrottles(ctx context.Context, db bun.IDB, now time.Time, longest time.Duration) (int64, error) {
	res, err := db.NewDelete().Table("throttles").
		Where("window_start < ? AND locked_until < ?", now.Add(-longest).UnixMilli(), now.UnixMilli()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("auth: purge throttles: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
