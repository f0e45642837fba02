package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"campuspay/store"
)

// backup is `campuspay backup FILE`: a consistent copy of the embedded SQLite database,
// taken while the platform runs. Restoring is copying it back while the platform is
// stopped (docs/OPERATIONS.md).
func backup(args []string, dsn, dataDir string) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("usage: campuspay backup [-data DIR] FILE")
	}
	if dsn != "" {
		return errors.New("backup: the database is MySQL; use mysqldump --single-transaction or mariabackup (docs/OPERATIONS.md)")
	}
	path := filepath.Join(dataDir, "campuspay.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database at %s: %w", path, err)
	}
	db, err := store.OpenSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := store.BackupSQLite(ctx, db, args[0]); err != nil {
		return err
	}
	fmt.Printf("backed up %s to %s\n", path, args[0])
	return nil
}

func envDuration(name string, fallback time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return fallback
}
