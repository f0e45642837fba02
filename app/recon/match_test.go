package recon_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/fault"
	"campuspay/app/recon"
	"campuspay/store"
	"campuspay/store/storetest"
)

// discs reads a day's discrepancies of a source by item key.
func discs(t *testing.T, db *bun.DB, source string, day int) map[string]*store.Discrepancy {
	t.Helper()
	var rows []*store.Discrepancy
	if err := db.NewSelect().Model(&rows).Where("source = ? AND day = ?", source, date(day)).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]*store.Discrepancy{}
	for _, d := range rows {
		out[d.Type+" "+d.ItemKey] = d
	}
	return out
}

func wantDisc(t *testing.T, got map[string]*store.Discrepancy, typ, key, status, note string) *store.Discrepancy {
	t.Helper()
	d, ok := got[typ+" "+key]
	if !ok {
		t.Errorf("no %s discrepancy for %s; have %d", typ, key, len(got))
		return nil
	}
	if d.Status != status || !strings.Contains(d.Note, note) {
		t.Errorf("%s %s = %s %q, want %s mentioning %q", typ, key, d.Status, d.Note, status, note)
	}
	return d
}

// TestReconcileChannel runs a sandbox day whose statement differs from the platform in
// every way there is, then reruns it, then lets the next day's statement clear what it
// explains.
func TestReconcileChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)

		// An order the platform closed as unpaid, whose money the channel took anyway.
		closed := f.order(t, "sandbox", 12000)
		f.clock.Advance(3 * time.Hour)
		if _, err := f.billing.ExpireOrders(ctx); err != nil {
			t.Fatal(err)
		}
		matched := f.order(t, "sandbox", 50000)
		f.pay(t, matched, "sandbox", "SB0001", at(27, 10, 0, 0))
		missed := f.order(t, "sandbox", 20000) // paid at the channel; the notification never came
		onlyHere := f.order(t, "sandbox", 8000)
		f.pay(t, onlyHere, "sandbox", "SB0003", at(27, 12, 0, 0))
		differs := f.order(t, "sandbox", 30000)
		f.pay(t, differs, "sandbox", "SB0004", at(27, 13, 0, 0))
		midnight := f.order(t, "sandbox", 9900)
		f.pay(t, midnight, "sandbox", "SB0005", at(27, 23, 59, 59))
		cardOrder := f.order(t, "campuscard", 4400) // on the platform as a card order
		f.refund(t, matched, "sandbox", "RF0001", "SR0001", 1000, at(27, 15, 0, 0))
		f.refund(t, onlyHere, "sandbox", "RF0002", "SR0002", 2000, at(27, 16, 0, 0))

		f.sandbox.set(date(26), sandboxStatement())
		f.sandbox.set(date(27), sandboxStatement(
			sbLine{"PAY", "SB0001", matched.OrderNo, "", 50000, at(27, 10, 0, 0)},
			sbLine{"PAY", "SB0002", missed.OrderNo, "", 20000, at(27, 11, 0, 0)},
			sbLine{"PAY", "SB0004", differs.OrderNo, "", 30100, at(27, 13, 0, 0)},
			sbLine{"PAY", "SB0006", "X999", "", 7000, at(27, 14, 0, 0)},
			sbLine{"PAY", "SB0007", closed.OrderNo, "", 12000, at(27, 8, 20, 0)},
			sbLine{"PAY", "SB0008", cardOrder.OrderNo, "", 4400, at(27, 17, 0, 0)},
			sbLine{"REFUND", "SB0001", matched.OrderNo, "SR0001", 1000, at(27, 15, 0, 0)},
		))
		f.clock.Set(at(29, 3, 0, 0))
		if _, err := f.recon.FetchStatement(ctx, "sandbox", date(26), "finance"); err != nil {
			t.Fatal(err)
		}
		out, err := f.recon.ReconcileChannel(ctx, "sandbox", date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		run := out.Runs[0]
		// matched: SB0001, SB0002 and SB0007 (repaired), the refund.
		if run.Status != recon.RunDone || run.MatchedCount != 4 || run.RepairedCount != 2 || run.DiscrepancyCount != 6 {
			t.Fatalf("run = %s matched %d repaired %d open %d (%s), want done 4 2 6", run.Status, run.MatchedCount, run.RepairedCount, run.DiscrepancyCount, run.Message)
		}
		if run.MatchedFen != 50000+20000+12000+1000 {
			t.Errorf("matched fen = %d", run.MatchedFen)
		}
		got := discs(t, db, "sandbox", 27)
		wantDisc(t, got, store.DiscMissingPlatform, missed.OrderNo+"/SB0002", recon.DiscCleared, "补记")
		wantDisc(t, got, store.DiscMissingPlatform, closed.OrderNo+"/SB0007", recon.DiscCleared, "迟到支付")
		wantDisc(t, got, store.DiscMissingChannel, onlyHere.OrderNo+"/SB0003", recon.DiscOpen, "渠道对账单无此笔")
		if d := wantDisc(t, got, store.DiscAmountDiffers, differs.OrderNo+"/SB0004", recon.DiscOpen, "¥301.00"); d != nil && (d.PlatformFen != 30000 || d.ChannelFen != 30100 || d.StatementLineID == nil) {
			t.Errorf("amount differs = %d vs %d, line %v", d.PlatformFen, d.ChannelFen, d.StatementLineID)
		}
		wantDisc(t, got, store.DiscMissingPlatform, "X999/SB0006", recon.DiscOpen, "无法补记")
		wantDisc(t, got, store.DiscStatusDiffers, cardOrder.OrderNo+"/SB0008", recon.DiscOpen, "不是通过该渠道")
		wantDisc(t, got, store.DiscStatusDiffers, "refund/RF0002", recon.DiscOpen, "平台显示退款成功")
		// Paid at 23:59:59 and not on this statement: provisional while 11-28's is not in.
		wantDisc(t, got, store.DiscMissingChannel, midnight.OrderNo+"/SB0005", recon.DiscOpen, "2026-11-28 的对账单尚未获取")

		// The repair went the notification's way: the order is paid, the bill credited.
		var o store.Order
		db.NewSelect().Model(&o).Where("order_no = ?", missed.OrderNo).Scan(ctx)
		if o.Status != store.OrderPaid {
			t.Errorf("repaired order = %s, want paid", o.Status)
		}
		if n := countRows(t, db, "audit_logs", "action = ? AND target_id = ?", "recon.repaired", missed.OrderNo); n != 1 {
			t.Errorf("repair audited %d times", n)
		}

		// Rerun: the same result, no new rows, no second payment.
		rows := countRows(t, db, "discrepancies", "1 = 1")
		payments := countRows(t, db, "payments", "1 = 1")
		out, err = f.recon.ReconcileChannel(ctx, "sandbox", date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		again := out.Runs[0]
		if again.MatchedCount != run.MatchedCount || again.MatchedFen != run.MatchedFen || again.RepairedCount != run.RepairedCount || again.DiscrepancyCount != run.DiscrepancyCount {
			t.Errorf("rerun = %d/%d/%d/%d, want %d/%d/%d/%d", again.MatchedCount, again.MatchedFen, again.RepairedCount, again.DiscrepancyCount,
				run.MatchedCount, run.MatchedFen, run.RepairedCount, run.DiscrepancyCount)
		}
		if n := countRows(t, db, "discrepancies", "1 = 1"); n != rows {
			t.Errorf("rerun: %d discrepancy rows, want %d", n, rows)
		}
		if n := countRows(t, db, "payments", "1 = 1"); n != payments {
			t.Errorf("rerun: %d payments, want %d", n, payments)
		}
		if out.Statements[0].Changed {
			t.Error("the same statement fetched again made a new version")
		}

		// Finance resolves one; a rerun keeps it resolved.
		d := discs(t, db, "sandbox", 27)[store.DiscAmountDiffers+" "+differs.OrderNo+"/SB0004"]
		if _, err := f.recon.Resolve(ctx, d.ID, "渠道多报 1 元，已与渠道确认为其系统错误", "finance"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.recon.Resolve(ctx, d.ID, "again", "finance"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("resolving twice = %v, want a conflict", err)
		}
		if _, err := f.recon.RunChannel(ctx, "sandbox", date(27), "finance"); err != nil {
			t.Fatal(err)
		}
		wantDisc(t, discs(t, db, "sandbox", 27), store.DiscAmountDiffers, differs.OrderNo+"/SB0004", recon.DiscResolved, "系统错误")

		// 11-28's statement arrives with the 23:59:59 payment on it: matched across
		// midnight, and 11-27's provisional difference clears.
		f.sandbox.set(date(28), sandboxStatement(sbLine{"PAY", "SB0005", midnight.OrderNo, "", 9900, at(28, 0, 0, 1)}))
		out, err = f.recon.ReconcileChannel(ctx, "sandbox", date(28), "system")
		if err != nil {
			t.Fatal(err)
		}
		if r := out.Runs[0]; r.MatchedCount != 1 || r.DiscrepancyCount != 0 {
			t.Errorf("11-28 run = matched %d open %d, want 1 0 (%s)", r.MatchedCount, r.DiscrepancyCount, r.Message)
		}
		wantDisc(t, discs(t, db, "sandbox", 27), store.DiscMissingChannel, midnight.OrderNo+"/SB0005", recon.DiscCleared, "")
		out, err = f.recon.ReconcileChannel(ctx, "sandbox", date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		if r := out.Runs[0]; r.DiscrepancyCount != 5 || !strings.Contains(r.Message, "跨日") {
			t.Errorf("11-27 rerun = open %d (%s), want 5 with a cross-day match", r.DiscrepancyCount, r.Message)
		}
		got = discs(t, db, "sandbox", 27)
		wantDisc(t, got, store.DiscMissingChannel, midnight.OrderNo+"/SB0005", recon.DiscCleared, "")
		if d := got[store.DiscMissingChannel+" "+onlyHere.OrderNo+"/SB0003"]; d == nil || strings.Contains(d.Note, "尚未获取") {
			t.Errorf("with both neighbours in, the missing payment is still provisional: %+v", d)
		}
	})
}

// TestReconcileCardRefunds matches card debits by order number and card refunds by the
// platform's own refund number, which the card statement carries.
func TestReconcileCardRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		o := f.order(t, "campuscard", 3000)
		f.pay(t, o, "campuscard", "D00000000000000a1", at(27, 9, 0, 0))
		f.refund(t, o, "campuscard", "RF0100", "R00000000000000b2", 500, at(27, 9, 30, 0))
		f.clock.Set(at(28, 3, 0, 0))
		f.card.set(date(27), cardStatement(
			sbLine{"debit", "D00000000000000a1", o.OrderNo, "", 3000, at(27, 9, 0, 0)},
			sbLine{"refund", "R00000000000000b2", "", "RF0100", 500, at(27, 9, 30, 0)},
		))
		out, err := f.recon.ReconcileChannel(ctx, "campuscard", date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		if r := out.Runs[0]; r.MatchedCount != 2 || r.MatchedFen != 3500 || r.DiscrepancyCount != 0 {
			t.Errorf("run = matched %d (%d fen) open %d, want 2 3500 0", r.MatchedCount, r.MatchedFen, r.DiscrepancyCount)
		}
		if st := out.Statements[0].Statement; st.GrossFen != 3000 || st.RefundFen != 500 || st.NetFen != 2500 || st.FeeFen != 0 {
			t.Errorf("statement totals = %+v", st)
		}
	})
}

// TestStatementVersions: the same file twice changes nothing; a changed file is version 2,
// the first superseded, and a warning in the audit log. A malformed file is refused whole.
func TestStatementVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.clock.Set(at(28, 3, 0, 0))
		first := sandboxStatement(sbLine{"PAY", "SB1", "A1", "", 100, at(27, 9, 0, 0)})
		f.sandbox.set(date(27), first)
		r1, err := f.recon.FetchStatement(ctx, "sandbox", date(27), "finance")
		if err != nil || !r1.Changed || r1.Statement.Version != 1 || r1.Statement.LineCount != 1 || r1.Statement.FeeFen != 1 {
			t.Fatalf("first fetch = %+v, %v", r1, err)
		}
		r2, err := f.recon.FetchStatement(ctx, "sandbox", date(27), "finance")
		if err != nil || r2.Changed || r2.Statement.ID != r1.Statement.ID {
			t.Fatalf("same file again = %+v, %v; want no change", r2, err)
		}
		if n := countRows(t, db, "statements", "1 = 1"); n != 1 {
			t.Fatalf("%d statements after the same file twice", n)
		}
		f.sandbox.set(date(27), sandboxStatement(sbLine{"PAY", "SB1", "A1", "", 100, at(27, 9, 0, 0)}, sbLine{"PAY", "SB2", "A2", "", 200, at(27, 9, 5, 0)}))
		r3, err := f.recon.FetchStatement(ctx, "sandbox", date(27), "finance")
		if err != nil || !r3.Changed || r3.Statement.Version != 2 || r3.Previous == nil || r3.Previous.ID != r1.Statement.ID {
			t.Fatalf("changed file = %+v, %v; want version 2", r3, err)
		}
		old, _ := f.recon.StatementByID(ctx, r1.Statement.ID)
		if !old.Superseded {
			t.Error("version 1 is not marked superseded")
		}
		if n := countRows(t, db, "audit_logs", "action = ? AND detail LIKE ?", "statement.changed", "WARNING%"); n != 1 {
			t.Errorf("%d statement.changed warnings, want 1", n)
		}
		if n := countRows(t, db, "statement_lines", "statement_id = ?", r3.Statement.ID); n != 2 {
			t.Errorf("version 2 has %d lines", n)
		}
		// A malformed file: refused whole, with the line and the reason; nothing stored.
		f.sandbox.set(date(27), strings.Replace(first, "SUMMARY,1,100,1,0,99", "SUMMARY,1,100,1,0,98", 1))
		_, err = f.recon.FetchStatement(ctx, "sandbox", date(27), "finance")
		var be *fault.Error
		if !errors.As(err, &be) || !strings.Contains(be.Message, "第 3 行") || !strings.Contains(be.Message, "净额") {
			t.Fatalf("summary mismatch = %v, want refused at line 3", err)
		}
		if n := countRows(t, db, "statements", "1 = 1"); n != 2 {
			t.Errorf("%d statements after a refused file, want 2", n)
		}
		// Today's statement cannot be fetched yet.
		if _, err := f.recon.FetchStatement(ctx, "sandbox", date(28), "finance"); !errors.As(err, &be) || be.Code != "day_open" {
			t.Errorf("fetching an open day = %v", err)
		}
	})
}
