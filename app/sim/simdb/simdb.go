// Package simdb creates the tables the simulators keep their books in (the sandbox
// payment company's trades and refunds, the campus card system's accounts and
// transactions). They are not part of the platform's schema: only a server that runs the
// simulators, and the tests, create them. The platform itself never reads them.
package simdb

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/uptrace/bun"

	"campuspay/store"
)

var (
	//go:embed mysql.sql
	mysqlDDL string
	//go:embed sqlite.sql
	sqliteDDL string
)

// Migrate creates the simulators' tables that do not exist yet; it may run any number of
// times.
func Migrate(ctx context.Context, db *bun.DB) error {
	ddl := sqliteDDL
	if store.DialectOf(db) == store.MySQL {
		ddl = mysqlDDL
	}
	for _, stmt := range store.Statements(ddl) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("simdb: migrate: %w\n%s", err, stmt)
		}
	}
	return nil
}
