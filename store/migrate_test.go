package store_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/store"
	"campuspay/store/storetest"
)

// columns lists table.column (nullable or not) for every table of the database.
func columns(t *testing.T, db *bun.DB) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	switch store.DialectOf(db) {
	case store.MySQL:
		rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, is_nullable FROM information_schema.columns
			WHERE table_schema = DATABASE() ORDER BY table_name, column_name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var tbl, col, null string
			if err := rows.Scan(&tbl, &col, &null); err != nil {
				t.Fatal(err)
			}
			out = append(out, tbl+"."+col+" null="+null)
		}
	case store.SQLite:
		var tables []string
		if err := db.NewSelect().Table("sqlite_master").Column("name").
			Where("type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(ctx, &tables); err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tables {
			rows, err := db.QueryContext(ctx, "SELECT name, \"notnull\", pk FROM pragma_table_info(?)", tbl)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var col string
				var notnull, pk int
				if err := rows.Scan(&col, &notnull, &pk); err != nil {
					t.Fatal(err)
				}
				null := "YES"
				if notnull == 1 || pk > 0 {
					null = "NO"
				}
				out = append(out, tbl+"."+col+" null="+null)
			}
			rows.Close()
		}
	}
	slices.Sort(out)
	return out
}

func TestDialectsYieldSameSchema(t *testing.T) {
	if os.Getenv(storetest.EnvMySQL) == "" {
		t.Skip(storetest.EnvMySQL + " not set: nothing to compare SQLite with")
	}
	lite := columns(t, storetest.SQLite(t))
	my := columns(t, storetest.MySQL(t))
	if len(lite) < 50 {
		t.Fatalf("SQLite schema has only %d columns", len(lite))
	}
	for _, c := range lite {
		if !slices.Contains(my, c) {
			t.Errorf("SQLite has %s, MySQL does not", c)
		}
	}
	for _, c := range my {
		if !slices.Contains(lite, c) {
			t.Errorf("MySQL has %s, SQLite does not", c)
		}
	}
}

func TestMigrateTwiceAppliesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ran, err := store.Migrate(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if len(ran) != 0 {
			t.Errorf("second Migrate applied %v, want nothing", ran)
		}
	})
}

func TestStatements(t *testing.T) {
	got := store.Statements("-- head\nCREATE TABLE a (\n  x INT -- note\n);\n\nCREATE INDEX i ON a (x);\n")
	want := []string{"CREATE TABLE a (\n  x INT -- note\n)", "CREATE INDEX i ON a (x)"}
	if !slices.Equal(got, want) {
		t.Errorf("Statements = %q, want %q", got, want)
	}
}
