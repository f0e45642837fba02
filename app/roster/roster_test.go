package roster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing/billingtest"
	"campuspay/app/fault"
	"campuspay/app/imports"
	"campuspay/app/roster"
	"campuspay/store"
	"campuspay/store/storetest"
)

func strp(s string) *string { return &s }

// rosterRows makes n payers R0000001… with every column.
func rosterRows(n int) []roster.PayerRow {
	rows := make([]roster.PayerRow, n)
	for i := range rows {
		rows[i] = roster.PayerRow{Line: i + 2, PayerNo: fmt.Sprintf("R%07d", i+1), Name: fmt.Sprintf("学生%d", i+1),
			Unit: strp("计算机学院"), Class: strp("计算机2601班"), Phone: strp(fmt.Sprintf("139%08d", i+1)), Status: strp("在读")}
	}
	return rows
}

func payerByNo(t *testing.T, db *bun.DB, no string) *store.User {
	t.Helper()
	u := new(store.User)
	if err := db.NewSelect().Model(u).Where("payer_no = ?", no).Scan(context.Background()); err != nil {
		t.Fatalf("payer %s: %v", no, err)
	}
	return u
}

func TestUpsertPayersChangesOnlyWhatChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := billingtest.NewClock(time.Date(2026, 8, 20, 1, 0, 0, 0, time.UTC))
		svc := &roster.Service{DB: db, Now: clk.Now}

		res, err := svc.UpsertPayers(ctx, rosterRows(25), "finance", "10.0.0.1")
		if err != nil || res != (roster.RosterResult{Created: 25}) {
			t.Fatalf("first upsert = %+v, %v; want 25 created", res, err)
		}
		first := payerByNo(t, db, "R0000007")
		if first.Login != "R0000007" || first.Roles != "payer" || first.PasswordHash != "" || first.Status != store.PayerActive || first.Unit != "计算机学院" {
			t.Errorf("created payer = %+v; want login = payer number, role payer, no password, active", first)
		}

		// The same roster again: all unchanged, nothing written.
		clk.Advance(time.Hour)
		audits := billingtest.Count(t, db, "audit_logs")
		res, err = svc.UpsertPayers(ctx, rosterRows(25), "finance", "10.0.0.1")
		if err != nil || res != (roster.RosterResult{Unchanged: 25}) {
			t.Fatalf("same roster again = %+v, %v; want 25 unchanged", res, err)
		}
		if again := payerByNo(t, db, "R0000007"); !again.UpdatedAt.Equal(first.UpdatedAt) {
			t.Errorf("updated_at moved from %v to %v on an unchanged payer", first.UpdatedAt, again.UpdatedAt)
		}
		if n := billingtest.Count(t, db, "audit_logs"); n != audits {
			t.Errorf("an unchanged roster wrote %d audit rows", n-audits)
		}

		// One phone changed, one graduated, a column missing for all (class kept), one new.
		rows := rosterRows(26)
		rows[2].Phone = strp("13700000000")
		rows[4].Status = strp("毕业")
		for i := range rows {
			rows[i].Class = nil
		}
		res, err = svc.UpsertPayers(ctx, rows, "finance", "10.0.0.1")
		if err != nil || res != (roster.RosterResult{Created: 1, Updated: 2, Unchanged: 23}) {
			t.Fatalf("changed roster = %+v, %v; want 1 created, 2 updated, 23 unchanged", res, err)
		}
		if u := payerByNo(t, db, "R0000003"); u.Phone != "13700000000" || !u.UpdatedAt.After(first.UpdatedAt) || u.ClassName != "计算机2601班" {
			t.Errorf("payer 3 = phone %s, updated %v, class %q; want the new phone, a later updated_at, the class kept", u.Phone, u.UpdatedAt, u.ClassName)
		}
		if u := payerByNo(t, db, "R0000005"); u.Status != store.PayerGraduated {
			t.Errorf("payer 5 status = %s, want graduated", u.Status)
		}
		if u := payerByNo(t, db, "R0000007"); !u.UpdatedAt.Equal(first.UpdatedAt) {
			t.Errorf("an untouched payer's updated_at moved")
		}
		var detail string
		db.NewSelect().Model((*store.AuditLog)(nil)).Column("detail").Where("action = ? AND target_id = ?", "payer.updated", "R0000003").Scan(ctx, &detail)
		if !strings.Contains(detail, "13700000000") {
			t.Errorf("audit of the phone change = %q", detail)
		}
	})
}

func TestUpsertPayersAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := &roster.Service{DB: db}
		now := time.Now()
		billingtest.Insert(t, db, &store.User{Login: "T0000001", Name: "占用登录名的职工", Roles: "finance", Status: "active", CreatedAt: now, UpdatedAt: now})

		rows := rosterRows(8)
		rows[1].PayerNo = "R-1"                // line 3
		rows[2].Name = ""                      // line 4
		rows[3].Phone = strp("1380000")        // line 5
		rows[4].Status = strp("失踪")            // line 6
		rows[5].PayerNo = rows[0].PayerNo      // line 7
		rows[6].PayerNo = "T0000001"           // line 8
		rows[7].Name = strings.Repeat("名", 51) // line 9
		_, err := svc.UpsertPayers(ctx, rows, "finance", "10.0.0.1")
		var bad *imports.RowErrors
		if !errors.As(err, &bad) || !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("UpsertPayers(bad rows) = %v, want *imports.RowErrors", err)
		}
		want := map[int]string{3: "4 到 32 位", 4: "姓名", 5: "手机号", 6: "无法识别", 7: "与第 2 行重复", 8: "登录名", 9: "姓名"}
		if bad.Total != len(want) {
			t.Errorf("%d bad rows (%v), want %d", bad.Total, bad.Rows, len(want))
		}
		for _, r := range bad.Rows {
			if !strings.Contains(r.Message, want[r.Line]) {
				t.Errorf("line %d: %q, want a reason with %q", r.Line, r.Message, want[r.Line])
			}
		}
		if n, _ := db.NewSelect().Model((*store.User)(nil)).Where("payer_no IS NOT NULL").Count(ctx); n != 0 {
			t.Errorf("%d payers written from a roster with bad rows, want none", n)
		}
	})
}

func TestImportRosterFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := &roster.Service{DB: db}
		csv := "\ufeff学号/工号,姓名,学院/部门,班级/单位,手机号,状态\n" +
			"2026100001,<script>alert(1)</script>,计算机学院,计算机2601班,13800000001,在读\n" +
			"2022100002,王五,数学学院,数学2201班,,毕业\n" +
			"T1999001,李老师,教务处,考试中心,,在职\n"
		job, err := svc.ImportRoster(ctx, "roster.csv", []byte(csv), "finance", "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		job, rows := waitRoster(t, svc, job.ID)
		if job.Status != store.ImportDone || !strings.Contains(job.Message, "新增 3 人") || len(rows) != 0 {
			t.Fatalf("import = %s %q %v; want done, 3 created", job.Status, job.Message, rows)
		}
		if u := payerByNo(t, db, "2022100002"); u.Status != store.PayerGraduated {
			t.Errorf("graduated payer stored as %s", u.Status)
		}

		bad := strings.Replace(csv, "13800000001", "1380000000X", 1)
		job, _ = svc.ImportRoster(ctx, "roster.csv", []byte(bad), "finance", "10.0.0.1")
		job, rows = waitRoster(t, svc, job.ID)
		if job.Status != store.ImportFailed || len(rows) != 1 || rows[0].Line != 2 {
			t.Errorf("bad file = %s %v; want failed on line 2", job.Status, rows)
		}
		if _, _, err := svc.RosterImport(ctx, 999999); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("RosterImport(missing) = %v, want not found", err)
		}
	})
}

func waitRoster(t *testing.T, svc *roster.Service, id int64) (*store.ImportJob, []imports.RowError) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		job, rows, err := svc.RosterImport(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status.Finished() {
			return job, rows
		}
	}
	t.Fatalf("roster import %d did not finish", id)
	return nil, nil
}

// TestUpsertPayersInChunks checks a roster larger than one insert chunk (1,000 rows):
// every payer is created, the same roster again changes nothing, and a changed phone on
// every row updates every row. How fast 50,000 go is BenchmarkUpsertPayers50k's business.
func TestUpsertPayersInChunks(t *testing.T) {
	const n = 2_500
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := &roster.Service{DB: db}
		if res, err := svc.UpsertPayers(ctx, rosterRows(n), "finance", "10.0.0.1"); err != nil || res.Created != n {
			t.Fatalf("UpsertPayers(%d) = %+v, %v; want %d created", n, res, err, n)
		}
		if res, err := svc.UpsertPayers(ctx, rosterRows(n), "finance", "10.0.0.1"); err != nil || res.Unchanged != n {
			t.Fatalf("again = %+v, %v; want %d unchanged", res, err, n)
		}
		rows := rosterRows(n)
		for i := range rows {
			rows[i].Phone = strp(fmt.Sprintf("137%08d", i))
		}
		if res, err := svc.UpsertPayers(ctx, rows, "finance", "10.0.0.1"); err != nil || res.Updated != n {
			t.Fatalf("every phone changed = %+v, %v; want %d updated", res, err, n)
		}
		var phones int
		if err := db.NewSelect().Model((*store.User)(nil)).Where("phone LIKE ?", "137%").ColumnExpr("COUNT(*)").Scan(ctx, &phones); err != nil || phones != n {
			t.Errorf("payers with the new phone = %d, %v; want %d", phones, err, n)
		}
	})
}
