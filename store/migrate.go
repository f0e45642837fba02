package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	schema "campuspay/sql"
)

// Migrate applies, in order, every numbered schema file of the database's dialect that
// has not been applied yet, and records each in schema_migrations. It returns the names of
// the files it applied.
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    VARCHAR(100) NOT NULL PRIMARY KEY,
  applied_at DATETIME(6)  NOT NULL
)`
	if DialectOf(db) == SQLite {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    TEXT     NOT NULL PRIMARY KEY,
  applied_at DATETIME NOT NULL
)`
	}
	if _, err := db.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var done []string
	if err := db.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &done); err != nil {
		return nil, fmt.Errorf("store: migrate: read applied: %w", err)
	}
	applied := make(map[string]bool, len(done))
	for _, v := range done {
		applied[v] = true
	}

	dir := string(DialectOf(db))
	files, err := fs.Glob(schema.FS, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	sort.Strings(files)
	var ran []string
	for _, f := range files {
		name := path.Base(f)
		if applied[name] {
			continue
		}
		ddl, err := fs.ReadFile(schema.FS, f)
		if err != nil {
			return ran, fmt.Errorf("store: migrate: %w", err)
		}
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, stmt := range Statements(string(ddl)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w\n%s", name, err, stmt)
				}
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", name, UTC(time.Now()))
			return err
		})
		if err != nil {
			return ran, fmt.Errorf("store: migrate: %w", err)
		}
		ran = append(ran, name)
	}
	return ran, nil
}

// Statements splits a schema file into its statements: each ends with a semicolon at the
// end of a line. Comment lines are dropped. A line holding only BEGIN opens a compound
// body (a MySQL trigger's), whose own statements end in semicolons too: the statement then
// runs on to a line holding only END;.
func Statements(ddl string) []string {
	var out []string
	var cur strings.Builder
	inBody := false
	for _, line := range strings.Split(ddl, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		switch {
		case trimmed == "BEGIN":
			inBody = true
		case inBody && trimmed != "END;":
		case strings.HasSuffix(trimmed, ";"):
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
			inBody = false
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
