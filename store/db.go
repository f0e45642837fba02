// Package store opens the database (MySQL/MariaDB, or the embedded SQLite), applies the
// schema, and holds the bun models and the queries the rest of the platform shares. It is
// the only code that knows the database drivers (duplicate keys, deadlocks, busy
// databases: tx.go's InTx retries what may run again) and it knows nothing of HTTP.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database family a *bun.DB talks to.
type Dialect string

const (
	MySQL  Dialect = "mysql"
	SQLite Dialect = "sqlite"
)

// DialectOf tells which family db is.
func DialectOf(db bun.IDB) Dialect {
	if db.Dialect().Name().String() == "mysql" {
		return MySQL
	}
	return SQLite
}

// Open connects to MySQL when dsn is set (a go-sql-driver DSN such as
// "user:pass@tcp(127.0.0.1:3306)/campuspay"), otherwise to the SQLite file
// campuspay.db under dataDir, creating the folder if needed.
func Open(dsn, dataDir string) (*bun.DB, error) {
	if dsn != "" {
		return openMySQL(dsn)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data folder: %w", err)
	}
	return OpenSQLite(filepath.Join(dataDir, "campuspay.db"))
}

// Connections to MySQL per instance: the platform's pool and the payers' page's own (see
// OpenPagePool). Together they are what one instance may hold open, so MariaDB's
// max_connections (151 by default) leaves room for two instances and the administrators.
const (
	mainConns = 52
	PageConns = 12
)

func openMySQL(dsn string) (*bun.DB, error) {
	sqldb, err := mysqlPool(dsn, mainConns)
	if err != nil {
		return nil, err
	}
	db := bun.NewDB(sqldb, mysqldialect.New())
	if err := ping(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenPagePool opens PageConns connections of their own to MySQL for the payers' page
// (billing.Service.PageDB), or returns nil for the embedded SQLite (dsn empty). In the rush
// the platform's pool is the queue every request waits in; the page, the first thing each
// payer opens, waits in its own, first come first served, and puts at most PageConns
// statements into the database at once.
func OpenPagePool(dsn string) (*sql.DB, error) {
	if dsn == "" {
		return nil, nil
	}
	return mysqlPool(dsn, PageConns)
}

// mysqlPool opens a pool of at most conns connections to dsn, kept open while idle and
// renewed every half hour.
func mysqlPool(dsn string, conns int) (*sql.DB, error) {
	connector, err := mysqlConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

// mysqlConnector reads dsn with the settings every connection needs: times as UTC, rows
// affected counted as SQLite counts them.
func mysqlConnector(dsn string) (driver.Connector, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse mysql dsn: %w", err)
	}
	cfg.ParseTime = true
	cfg.ClientFoundRows = true // rows affected = rows matched, as SQLite counts them
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: mysql connector: %w", err)
	}
	return connector, nil
}

// OpenSQLite opens (creating it if needed) the SQLite database at path, in WAL mode so that
// reads go on while one transaction writes. Write transactions begin IMMEDIATE, so that they
// take the write lock before their first statement instead of failing midway. InTx's
// transactions take turns for that lock in Go (writequeue.go); other writers wait in
// SQLite's busy handler, up to busyTimeout.
func OpenSQLite(path string) (*bun.DB, error) {
	connector, err := sqlite.NewConnector("file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqldb := sql.OpenDB(queuedConnector{Connector: connector, queue: newWriteQueue()})
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := ping(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func ping(db *bun.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// IsDuplicate reports whether err is a unique-key violation (MySQL 1062, SQLite
// constraint unique/primary key): where an operation is idempotent it means "already done".
func IsDuplicate(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsDeadlock reports whether err is MySQL's deadlock (1213): the transaction was rolled
// back whole and may simply run again. (Concurrent upserts of one new key can meet so.)
func IsDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// UTC is how every timestamp is written: in UTC, truncated to the microseconds both
// dialects keep, so that what is read back equals what was written.
func UTC(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ScanAndCount scans one page of q into dest and counts all its rows, one query after
// the other. bun's own ScanAndCount runs the two at once on the same query when no
// connection is set, which races on queries with relations; naming the connection makes
// it run them in turn.
func ScanAndCount(ctx context.Context, q *bun.SelectQuery, dest ...any) (int64, error) {
	return q.Conn(q.DB()).ScanAndCount(ctx, dest...)
}

// Clip cuts s to at most n bytes, keeping it valid UTF-8: what a column of that size takes.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Now is the time of a service whose clock is clock (a test's) or, when nil, the system's,
// as every timestamp is written: UTC, in microseconds.
func Now(clock func() time.Time) time.Time {
	if clock != nil {
		return UTC(clock())
	}
	return UTC(time.Now())
}
