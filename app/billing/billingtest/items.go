package billingtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"campuspay/app/catalog"
	"campuspay/app/imports"
	"campuspay/store"
)

// ItemFixture is the fixture plus a second department, a roster of payers and a
// draft-ready item form.
type ItemFixture struct {
	*Fixture
	Dept  int64 // the fixture's department (财务处)
	Other int64 // another department (shadows Fixture.Other, the second payer)
}

// NewItemFixture builds the fixture with payers S0000001… on the roster.
func NewItemFixture(t *testing.T, db *bun.DB, payers int) *ItemFixture {
	t.Helper()
	f := &ItemFixture{Fixture: NewFixture(t, db)}
	f.Dept = f.Item.DepartmentID
	now := f.Clock.Now()
	other := &store.Department{Code: "JWC", Name: "教务处", CreatedAt: now}
	Insert(t, db, other)
	f.Other = other.ID
	var users []*store.User
	for i := 1; i <= payers; i++ {
		no := fmt.Sprintf("S%07d", i)
		users = append(users, &store.User{Login: no, Name: fmt.Sprintf("学生%d", i), Roles: "payer", PayerNo: &no,
			Phone: fmt.Sprintf("139%08d", i), Status: "active", CreatedAt: now, UpdatedAt: now})
	}
	for chunk := 0; chunk < len(users); chunk += 1000 {
		part := users[chunk:min(chunk+1000, len(users))]
		Insert(t, db, &part)
	}
	return f
}

// ItemForm is a valid item form with code.
func ItemForm(code string) catalog.ItemInput {
	return catalog.ItemInput{Code: code, Name: "2026年暑期培训费", Category: "training", Audience: "both",
		Pricing: "per_bill", OpensAt: "2026-11-01T08:00", ClosesAt: "2026-12-31T18:00", Description: "培训费"}
}

// ApprovedItem creates an item through the lifecycle and returns it approved.
func (f *ItemFixture) ApprovedItem(t *testing.T, in catalog.ItemInput) *store.ChargeItem {
	t.Helper()
	ctx := context.Background()
	in.DepartmentID = f.Dept
	item, err := f.Catalog.CreateItem(ctx, in, nil, 0, "finance")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []catalog.ItemEvent{catalog.ItemSubmitted, catalog.ItemApproved} {
		if item, err = f.Catalog.MoveItem(ctx, item.ID, ev, "", nil, "finance"); err != nil {
			t.Fatal(err)
		}
	}
	return item
}

// ImportCSV imports a CSV under an item and waits for the job to end.
func (f *ItemFixture) ImportCSV(t *testing.T, itemID int64, lines ...string) (*store.ImportJob, []imports.RowError) {
	t.Helper()
	return f.ImportFile(t, itemID, "bills.csv", []byte(strings.Join(lines, "\n")+"\n"))
}

// ImportFile imports a file under an item and waits for the job to end.
func (f *ItemFixture) ImportFile(t *testing.T, itemID int64, name string, data []byte) (*store.ImportJob, []imports.RowError) {
	t.Helper()
	ctx := context.Background()
	job, err := f.BillSvc.ImportBills(ctx, itemID, name, data, nil, "finance")
	if err != nil {
		t.Fatal(err)
	}
	return WaitImport(t, f.Imports, job.ID)
}

// WaitImport waits for an import job to end and returns it with its bad rows.
func WaitImport(t testing.TB, r *imports.Runner, id int64) (*store.ImportJob, []imports.RowError) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		job, rows, err := r.Job(context.Background(), id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status.Finished() {
			return job, rows
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("import job %d did not finish within 60 s", id)
	return nil, nil
}

// ItemBillCount counts an item's bills.
func ItemBillCount(t *testing.T, db *bun.DB, itemID int64) int {
	t.Helper()
	n, err := db.NewSelect().Model((*store.Bill)(nil)).Where("item_id = ?", itemID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// NumericWorkbook is an import file whose amounts are real NUMERIC cells, each with a
// number format (excelize built-ins: 1 "0", 2 "0.00", 4 "#,##0.00").
func NumericWorkbook(t testing.TB, header []any, rows [][]any, amountCol int, formats []int) []byte {
	t.Helper()
	x := excelize.NewFile()
	x.SetSheetRow("Sheet1", "A1", &header)
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		x.SetSheetRow("Sheet1", cell, &r)
		style, err := x.NewStyle(&excelize.Style{NumFmt: formats[i]})
		if err != nil {
			t.Fatal(err)
		}
		amount, _ := excelize.CoordinatesToCellName(amountCol, i+2)
		x.SetCellStyle("Sheet1", amount, amount, style)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
