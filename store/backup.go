package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"
)

// BackupSQLite writes a consistent copy of the embedded SQLite database to file, while the
// platform may keep running: VACUUM INTO reads one snapshot of the database inside a read
// transaction (WAL lets writers go on meanwhile) and writes it compacted to a new file.
// The copy is written beside file first, checked (PRAGMA integrity_check), and only then
// renamed to file, so that a file at that name is always a whole backup. An existing file
// is not overwritten.
func BackupSQLite(ctx context.Context, db *bun.DB, file string) error {
	if DialectOf(db) != SQLite {
		return errors.New("store: backup: only the embedded SQLite; back MySQL up with mysqldump --single-transaction or mariabackup (docs/OPERATIONS.md)")
	}
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("store: backup: %s exists; choose a new file", file)
	}
	tmp := filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+".partial")
	os.Remove(tmp)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := checkSQLite(ctx, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// checkSQLite opens a database file read-only and runs SQLite's integrity check on it.
func checkSQLite(ctx context.Context, path string) error {
	copyDB, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("store: backup: open copy: %w", err)
	}
	defer copyDB.Close()
	var res string
	if err := copyDB.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("store: backup: check copy: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: backup: the copy fails its integrity check: %s", res)
	}
	return nil
}
