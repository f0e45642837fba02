package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/uptrace/bun"

	schema "campuspay/sql"
)

// PendingMigrations returns the schema files of the database's dialect this binary has
// and the database has not applied (readiness: an instance must not serve a schema older
// than its code).
func PendingMigrations(ctx context.Context, db *bun.DB) ([]string, error) {
	var done []string
	if err := db.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &done); err != nil {
		return nil, fmt.Errorf("store: applied migrations: %w", err)
	}
	applied := make(map[string]bool, len(done))
	for _, v := range done {
		applied[v] = true
	}
	files, err := fs.Glob(schema.FS, string(DialectOf(db))+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	sort.Strings(files)
	var pending []string
	for _, f := range files {
		if name := path.Base(f); !applied[name] {
			pending = append(pending, name)
		}
	}
	return pending, nil
}
