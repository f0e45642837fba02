// Package storetest gives tests a fresh, migrated database of each dialect: always the
// embedded SQLite, and MariaDB/MySQL too when CAMPUSPAY_TEST_MYSQL holds a DSN whose user
// may create databases. Each call gets a database of its own, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"

	"campuspay/app/sim/simdb"
	"campuspay/store"
)

// EnvMySQL names the variable holding the MariaDB/MySQL DSN for tests.
const EnvMySQL = "CAMPUSPAY_TEST_MYSQL"

// Each runs fn as a subtest once per available dialect ("sqlite", and "mysql" when
// configured), each with a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(EnvMySQL) != "" {
		t.Run("mysql", func(t *testing.T) { fn(t, MySQL(t)) })
	}
}

// SQLite returns a fresh migrated SQLite database in the test's temporary folder.
func SQLite(t testing.TB) *bun.DB {
	t.Helper()
	db, err := store.OpenSQLite(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db)
	return db
}

// MySQL returns a fresh migrated database on the configured server; the test is skipped
// when CAMPUSPAY_TEST_MYSQL is not set.
func MySQL(t testing.TB) *bun.DB {
	t.Helper()
	db, err := store.Open(MySQLDSN(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // runs before MySQLDSN's DROP DATABASE
	migrate(t, db)
	return db
}

// MySQLDSN returns a DSN for a fresh empty database on the configured server (for tests that
// start the whole binary), dropped when the test ends.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvMySQL)
	if dsn == "" {
		t.Skip(EnvMySQL + " not set")
	}
	name := "cpt_" + randomHex(6)
	admin, err := store.Open(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

func migrate(t testing.TB, db *bun.DB) {
	t.Helper()
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	// Tests drive the simulators too: give them their tables.
	if err := simdb.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
