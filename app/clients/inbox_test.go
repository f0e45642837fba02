package clients_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/clients"
	"campuspay/app/server/servertest"
	"campuspay/store"
	"campuspay/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// inboxRow is a row as a business system would write it: a ¥30 exam bill of a student.
func inboxRow(appID, billNo string) *store.InboxBill {
	return &store.InboxBill{AppID: appID, BillNo: billNo, ItemCode: "CET-2026-12", PayerType: "internal",
		PayerID: ptr("2026000001"), Description: ptr("英语四级报名费"), DueDate: ptr(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))}
}

func insertInbox(t *testing.T, db bun.IDB, rows ...*store.InboxBill) {
	t.Helper()
	for _, r := range rows {
		if _, err := db.NewInsert().Model(r).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func importInbox(t *testing.T, p *servertest.Platform) clients.InboxResult {
	t.Helper()
	res, err := p.Clients.ImportInbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// inboxStates maps bill_no to "state: error" for every row, by id.
func inboxStates(t *testing.T, db bun.IDB) map[int64]*store.InboxBill {
	t.Helper()
	var rows []*store.InboxBill
	if err := db.NewSelect().Model(&rows).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[int64]*store.InboxBill{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

// statusRow is one row of the inbox_bill_status view.
type statusRow struct {
	InboxID    int64      `bun:"inbox_id"`
	AppID      string     `bun:"app_id"`
	BillNo     string     `bun:"bill_no"`
	State      string     `bun:"state"`
	Error      string     `bun:"error"`
	Status     *string    `bun:"status"`
	Amount     *int64     `bun:"amount"`
	AmountPaid *int64     `bun:"amount_paid"`
	PaidAt     *time.Time `bun:"paid_at"`
}

func viewRows(t *testing.T, db bun.IDB) map[int64]statusRow {
	t.Helper()
	var rows []statusRow
	if err := db.NewSelect().Table("inbox_bill_status").
		Column("inbox_id", "app_id", "bill_no", "state", "error", "status", "amount", "amount_paid", "paid_at").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[int64]statusRow{}
	for _, r := range rows {
		out[r.InboxID] = r
	}
	return out
}

func TestInboxImport(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		registerClient(t, p, "academic")
		registerClient(t, p, "stopped")
		if err := p.Clients.SetClientDisabled(ctx, "stopped", true, "test"); err != nil {
			t.Fatal(err)
		}

		good := inboxRow("academic", "IN-1")
		again := inboxRow("academic", "IN-1") // the same bill written twice
		second := inboxRow("academic", "IN-2")
		second.PayerType, second.PayerID, second.PayerName, second.PayerPhone = "internal", ptr("2026000002"), nil, nil
		second.Metadata = ptr(`{"exam": "CET4", "seat": 12}`)
		notAllowed := inboxRow("academic", "IN-3")
		notAllowed.ItemCode = "DORM-2026"
		unknownApp := inboxRow("nobody", "IN-4")
		disabled := inboxRow("stopped", "IN-5")
		conflict := inboxRow("academic", "IN-1")
		conflict.Description = ptr("另一张账单")
		badPayer := inboxRow("academic", "IN-6")
		badPayer.PayerType = "alien"
		badMeta := inboxRow("academic", "IN-7")
		badMeta.Metadata = ptr(`[1, 2`)
		xss := inboxRow("academic", "IN-8")
		xss.Description = ptr("<script>alert(1)</script>")
		insertInbox(t, p.DB, good, again, second, notAllowed, unknownApp, disabled, conflict, badPayer, badMeta, xss)

		res := importInbox(t, p)
		if res.Imported != 4 || res.Rejected != 6 {
			t.Errorf("ImportInbox = %+v, want 4 imported, 6 rejected", res)
		}
		rows := inboxStates(t, p.DB)
		tests := []struct {
			row   *store.InboxBill
			state string
			code  string
		}{
			{good, "imported", ""}, {again, "imported", ""}, {second, "imported", ""}, {xss, "imported", ""},
			{notAllowed, "rejected", "forbidden: "}, {unknownApp, "rejected", "unauthorized: "},
			{disabled, "rejected", "unauthorized: "}, {conflict, "rejected", "bill_conflict: "},
			{badPayer, "rejected", "bad_request: payer.type"}, {badMeta, "rejected", "bad_request: metadata"},
		}
		for _, tt := range tests {
			got := rows[tt.row.ID]
			if got.State != tt.state || !strings.HasPrefix(got.Error, tt.code) || (tt.code != "") != (got.Error != "") || got.ProcessedAt == nil {
				t.Errorf("row %s (%d): state %q error %q, want %s %q…", tt.row.BillNo, tt.row.ID, got.State, got.Error, tt.state, tt.code)
			}
		}
		var made []store.Bill
		p.DB.NewSelect().Model(&made).Where("source_client = ?", "academic").Order("bill_no").Scan(ctx)
		if len(made) != 3 || made[0].Source != bills.SourceInbox || made[0].AmountDueFen != 3000 || made[0].DueDate == nil {
			t.Fatalf("bills of academic: %+v, want IN-1, IN-2, IN-8 from the inbox, ¥30 each, with a due date", made)
		}
		if made[1].Metadata == nil || !strings.Contains(*made[1].Metadata, `"seat":12`) {
			t.Errorf("IN-2 metadata %v, want the row's JSON", made[1].Metadata)
		}

		// Rerunning imports nothing new and changes nothing.
		if res := importInbox(t, p); res != (clients.InboxResult{}) {
			t.Errorf("second run = %+v, want nothing", res)
		}
		n, _ := p.DB.NewSelect().Model((*store.Bill)(nil)).Where("source_client = ?", "academic").Count(ctx)
		if n != 3 {
			t.Errorf("after the second run %d made, want 3", n)
		}

		// Pay IN-1 by campus card: the view shows it paid.
		payer := new(store.User)
		p.DB.NewSelect().Model(payer).Where("payer_no = ?", "2026000001").Scan(ctx)
		o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: payer.ID, Channel: "campuscard",
			Lines: []billing.LineRequest{{BillID: made[0].ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.Billing.StartPayment(ctx, o.OrderNo, "2026000001", "123456"); err != nil {
			t.Fatal(err)
		}
		if store.DialectOf(p.DB) == store.MySQL {
			return // the view shows an account its own rows: TestInboxConfinesMySQLAccount reads it
		}
		view := viewRows(t, p.DB)
		if v := view[good.ID]; v.Status == nil || *v.Status != "paid" || *v.AmountPaid != 3000 || v.PaidAt == nil || v.State != "imported" {
			t.Errorf("view row of IN-1 = %+v, want imported and paid ¥30", v)
		}
		if v := view[second.ID]; v.Status == nil || *v.Status != "unpaid" || *v.Amount != 3000 {
			t.Errorf("view row of IN-2 = %+v, want unpaid ¥30", v)
		}
		if v := view[conflict.ID]; v.State != "rejected" || v.Status != nil || !strings.HasPrefix(v.Error, "bill_conflict") {
			t.Errorf("view row of the conflicting IN-1 = %+v, want rejected with no bill status", v)
		}
	})
}

// TestInboxRowsWrittenDuringARun: rows written while the job runs are imported, by that
// run or the next; none is lost or imported twice.
func TestInboxRowsWrittenDuringARun(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		registerClient(t, p, "academic")
		for i := range 150 {
			insertInbox(t, p.DB, inboxRow("academic", fmt.Sprintf("A-%03d", i)))
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 60 {
				insertInbox(t, p.DB, inboxRow("academic", fmt.Sprintf("B-%03d", i)))
			}
		})
		for range 2 { // two importers at once, as two instances would
			wg.Go(func() {
				if _, err := p.Clients.ImportInbox(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		importInbox(t, p) // the next run
		ctx := context.Background()
		n, _ := p.DB.NewSelect().Model((*store.InboxBill)(nil)).Where("state = ?", store.InboxImported).Count(ctx)
		bills, _ := p.DB.NewSelect().Model((*store.Bill)(nil)).Where("source_client = ?", "academic").Count(ctx)
		audits, _ := p.DB.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ? AND actor = ?", "bill.created", "client:academic").Count(ctx)
		if n != 210 || bills != 210 || audits != 210 {
			t.Errorf("%d rows imported, %d bills, %d audit rows; want 210 of each", n, bills, audits)
		}
	})
}

// TestInboxConfinesMySQLAccount creates a business system's database account with the
// README's grants and checks what it can and cannot do.
func TestInboxConfinesMySQLAccount(t *testing.T) {
	if os.Getenv(storetest.EnvMySQL) == "" {
		t.Skip(storetest.EnvMySQL + " not set: SQLite has no database accounts")
	}
	p := servertest.Start(t, servertest.Options{MySQL: true, Demo: true})
	ctx := context.Background()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	appID := "inb-" + hex.EncodeToString(suffix) // database accounts are server-wide
	registerClient(t, p, appID)
	registerClient(t, p, "academic")

	var schema string
	if err := p.DB.NewRaw("SELECT DATABASE()").Scan(ctx, &schema); err != nil {
		t.Fatal(err)
	}
	const password = "Inbox-test-9f3a"
	if _, err := p.DB.ExecContext(ctx, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", appID, password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.DB.ExecContext(context.Background(), fmt.Sprintf("DROP USER '%s'@'%%'", appID)) })
	for _, stmt := range clients.InboxGrants(schema, appID, "%") {
		if _, err := p.DB.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	cfg, _ := mysql.ParseDSN(os.Getenv(storetest.EnvMySQL))
	cfg.User, cfg.Passwd, cfg.DBName, cfg.ParseTime = appID, password, schema, true
	cdb, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()

	// Another client's row, written by the platform's account.
	insertInbox(t, p.DB, inboxRow("academic", "OTHER-1"))
	// The account writes its own rows as a business system would: plain SQL.
	ins := "INSERT INTO inbox_bills (app_id, bill_no, item_code, payer_type, payer_id, description, due_date) VALUES (?, ?, 'CET-2026-12', 'internal', '2026000001', '报名费', '2026-12-31')"
	if _, err := cdb.ExecContext(ctx, ins, appID, "MINE-1"); err != nil {
		t.Fatalf("the account cannot insert its row: %v", err)
	}
	if _, err := cdb.ExecContext(ctx, ins, "academic", "FORGED-1"); err != nil {
		t.Fatalf("insert with another app_id: %v", err) // accepted by the database, rejected by the importer
	}
	refused := map[string]string{
		"read bills":                   "SELECT COUNT(*) FROM bills",
		"read the inbox table":         "SELECT COUNT(*) FROM inbox_bills",
		"write state":                  "INSERT INTO inbox_bills (app_id, bill_no, item_code, payer_type, state) VALUES ('" + appID + "', 'X', 'CET-2026-12', 'internal', 'imported')",
		"write db_user":                "INSERT INTO inbox_bills (app_id, bill_no, item_code, payer_type, db_user) VALUES ('academic', 'X', 'CET-2026-12', 'internal', 'academic')",
		"change a row":                 "UPDATE inbox_bills SET amount = 1",
		"read clients":                 "SELECT COUNT(*) FROM clients",
		"write into the view directly": "DELETE FROM inbox_bill_status",
	}
	for name, q := range refused {
		if _, err := cdb.ExecContext(ctx, q); err == nil {
			t.Errorf("the account may %s: %s", name, q)
		}
	}

	res := importInbox(t, p)
	if res.Imported != 2 || res.Rejected != 1 {
		t.Errorf("ImportInbox = %+v, want 2 imported (MINE-1, OTHER-1) and the forged row rejected", res)
	}
	var forged store.InboxBill
	p.DB.NewSelect().Model(&forged).Where("bill_no = ?", "FORGED-1").Scan(ctx)
	if forged.State != store.InboxRejected || forged.DBUser != appID || !strings.Contains(forged.Error, appID) {
		t.Errorf("forged row: %+v, want rejected naming the account that wrote it", forged)
	}

	// The view shows the account its own rows only, with the bill's status.
	rows, err := cdb.QueryContext(ctx, "SELECT bill_no, state, status, amount FROM inbox_bill_status ORDER BY inbox_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var no, state string
		var status sql.NullString
		var amount sql.NullInt64
		if err := rows.Scan(&no, &state, &status, &amount); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, fmt.Sprintf("%s %s %s %d", no, state, status.String, amount.Int64))
	}
	if want := []string{"MINE-1 imported unpaid 3000"}; strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("the account's view: %q, want %q", seen, want)
	}
}

// registerClient registers a business system allowed to bill CET-2026-12.
func registerClient(t *testing.T, p *servertest.Platform, appID string) {
	t.Helper()
	if _, _, err := p.Clients.CreateClient(context.Background(), clients.ClientInput{
		AppID: appID, Name: "测试系统 " + appID, AllowedItems: []string{"CET-2026-12"}}, "test"); err != nil {
		t.Fatal(err)
	}
}
