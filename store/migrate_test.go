package store_test

import (
	"context"
	"os"
	"slices"
	"strings"
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
		// Views' columns are compared by name only: MySQL derives their nullability, SQLite does not.
		rows, err := db.QueryContext(ctx, `SELECT c.table_name, c.column_name,
			CASE WHEN t.table_type = 'VIEW' THEN 'view' ELSE c.is_nullable END
			FROM information_schema.columns c JOIN information_schema.tables t
			  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = DATABASE() ORDER BY c.table_name, c.column_name`)
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
		var tables []struct {
			Name string `bun:"name"`
			Type string `bun:"type"`
		}
		if err := db.NewSelect().Table("sqlite_master").Column("name", "type").
			Where("type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'").Scan(ctx, &tables); err != nil {
			t.Fatal(err)
		}
		for _, obj := range tables {
			tbl := obj.Name
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
				if obj.Type == "view" {
					null = "view"
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
	// A MySQL trigger's compound body: its inner semicolons do not end the statement.
	got = store.Statements("CREATE TRIGGER t AFTER UPDATE ON a FOR EACH ROW\nBEGIN\n  IF NEW.x <> OLD.x THEN\n    INSERT INTO b VALUES (NEW.x);\n  END IF;\nEND;\n\nDROP TABLE c;\n")
	want = []string{"CREATE TRIGGER t AFTER UPDATE ON a FOR EACH ROW\nBEGIN\n  IF NEW.x <> OLD.x THEN\n    INSERT INTO b VALUES (NEW.x);\n  END IF;\nEND", "DROP TABLE c"}
	if !slices.Equal(got, want) {
		t.Errorf("Statements with a compound body = %q, want %q", got, want)
	}
}

func TestSchemaHasNoSimulatorTables(t *testing.T) {
	db, err := store.OpenSQLite(t.TempDir() + "/plain.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, c := range columns(t, db) {
		if strings.HasPrefix(c, "sim_") {
			t.Fatalf("the platform's schema has %s: the simulators' tables belong to app/sim/simdb", c)
		}
	}
}
