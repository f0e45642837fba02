package main

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"campuspay/app/api/client"
)

// dump is every row of every table of a SQLite file, as sorted text.
func dump(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		lines := []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%q", vals))
		}
		rows.Close()
		sort.Strings(lines)
		out[table] = lines
	}
	return out
}

func rowsIn(d map[string][]string) int {
	n := 0
	for _, l := range d {
		n += len(l)
	}
	return n
}

// Back up the embedded SQLite while the platform runs and writes, change things, stop,
// restore, and find everything as it was in the backup.
func TestBackupWhileRunningAndRestore(t *testing.T) {
	dir := t.TempDir()
	in := start(t, nil, "-data", dir)
	api := client.New(in.URL, "demo-admissions", demoClientSecret)
	if _, err := api.CreateBill(ctx(t), newBill("BAK-A")); err != nil {
		t.Fatal(err)
	}

	// A writer keeps creating bills while the backup runs.
	var made atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := api.CreateBill(ctx(t), newBill(fmt.Sprintf("BAK-W%04d", i))); err == nil {
				made.Add(1)
			}
		}
	}()
	waitUntil(t, 30*time.Second, "the writer's first bills", func() bool { return made.Load() >= 3 })
	file := filepath.Join(t.TempDir(), "campuspay-backup.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err := run([]string{"backup", "-data", dir, file}, log)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("campuspay backup: %v", err)
	}
	if err := run([]string{"backup", "-data", dir, file}, log); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup onto an existing file: %v, want a refusal that it exists", err)
	}
	if err := run([]string{"backup", "-db", "u:p@tcp(127.0.0.1:1)/x", file + "2"}, log); err == nil || !strings.Contains(err.Error(), "mysqldump") {
		t.Errorf("backup of MySQL: %v, want a pointer to mysqldump", err)
	}
	saved := dump(t, file)
	bills := len(saved["bills"])
	if !strings.Contains(strings.Join(saved["bills"], "\n"), `"BAK-A"`) {
		t.Fatal("the backup lacks the bill committed before it")
	}
	if rowsIn(saved) < 100 || len(saved["schema_migrations"]) == 0 {
		t.Fatalf("the backup holds %d rows, %d migrations: want the whole database", rowsIn(saved), len(saved["schema_migrations"]))
	}

	// Change things after the backup: a new bill, a cancelled one.
	if _, err := api.CreateBill(ctx(t), newBill("BAK-B")); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CancelBill(ctx(t), "BAK-A"); err != nil {
		t.Fatal(err)
	}

	// Restore (docs/OPERATIONS.md): stop, put the backup in place of campuspay.db, drop the
	// write-ahead log files, start.
	stopInstance(t, in)
	live := filepath.Join(dir, "campuspay.db")
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(live + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	copyFile(t, file, live)
	restored := dump(t, live)
	for table, want := range saved {
		if got := restored[table]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("table %s after restore: %d rows differ from the backup's %d", table, len(got), len(want))
		}
	}
	if len(restored) != len(saved) {
		t.Errorf("restored database has %d tables, the backup %d", len(restored), len(saved))
	}

	again := start(t, nil, "-data", dir)
	api = client.New(again.URL, "demo-admissions", demoClientSecret)
	a, err := api.Bill(ctx(t), "BAK-A")
	if err != nil || a.Status != "unpaid" {
		t.Errorf("bill BAK-A after restore: %+v %v, want unpaid as at the backup", a, err)
	}
	var ae *client.Error
	if _, err := api.Bill(ctx(t), "BAK-B"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("bill BAK-B (made after the backup) after restore: %v, want 404", err)
	}
	if bills < 1+3 {
		t.Errorf("backup holds %d bills, want the ones written before it", bills)
	}
}

func stopInstance(t *testing.T, in *instance) {
	t.Helper()
	in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Fatal("campuspay did not stop within 30 s")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
