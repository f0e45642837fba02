package recon_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/channel"
	"campuspay/app/recon"
	"campuspay/store"
	"campuspay/store/storetest"
)

// TestNoChannelNames: reconciliation knows channels only by what they return and declare;
// no Go file of the package (tests aside) spells a channel's name.
func TestNoChannelNames(t *testing.T) {
	names := []string{"sandbox", "campuscard", "alipay", "wechatpay", "unionpay"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil {
				text = lit.Value
			}
			for _, ch := range names {
				if strings.Contains(strings.ToLower(text), ch) {
					t.Errorf("%s: string literal %s names the channel %q", fset.Position(lit.Pos()), lit.Value, ch)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d files; is the test run from app/recon?", checked)
	}
}

// linesChannel is a payment company recon has never heard of: it hands over normalised
// lines (and a file it made up), and says how its settlements read on the bank statement.
type linesChannel struct {
	*fakeChannel
	lines map[string][]channel.StatementLine
}

func (c *linesChannel) Statement(_ context.Context, day time.Time) (channel.Statement, error) {
	lines, ok := c.lines[day.Format(time.DateOnly)]
	if !ok {
		return channel.Statement{}, channel.ErrUnavailable
	}
	raw := "ACME BILL " + day.Format(time.DateOnly) + " " + strconv.Itoa(len(lines))
	return channel.Statement{FileName: "acme-" + day.Format("20060102") + ".zip", Raw: []byte(raw), Lines: lines}, nil
}

func (c *linesChannel) Capabilities() channel.Capabilities {
	return channel.Capabilities{Label: "极速付", SettlementMarkers: []string{"AcmePay"}}
}

// TestReconcileAnyChannel reconciles a day of a channel defined here, from its lines
// alone: a payment matched, one the platform missed (repaired the way a notification
// would have paid it), one the channel lacks, one whose amount differs, a refund named by
// our refund number and one named by the channel's; then its settlement on the bank
// statement, found by the markers the channel declares.
func TestReconcileAnyChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		acme := &linesChannel{fakeChannel: newFake("acmepay"), lines: map[string][]channel.StatementLine{}}
		f.billing.Channels["acmepay"] = acme

		matched := f.order(t, "acmepay", 5000)
		f.pay(t, matched, "acmepay", "AC0001", at(27, 9, 0, 0))
		missed := f.order(t, "acmepay", 7000) // paid at the company; the notification was lost
		onlyHere := f.order(t, "acmepay", 8000)
		f.pay(t, onlyHere, "acmepay", "AC0003", at(27, 11, 0, 0))
		differs := f.order(t, "acmepay", 9000)
		f.pay(t, differs, "acmepay", "AC0004", at(27, 12, 0, 0))
		f.refund(t, matched, "acmepay", "RF0001", "ACR0001", 1000, at(27, 15, 0, 0))
		f.refund(t, matched, "acmepay", "RF0002", "ACR0002", 500, at(27, 16, 0, 0))
		f.clock.Set(at(28, 3, 0, 0))

		pay := func(order *store.Order, trade string, amount, fee int64, when time.Time) channel.StatementLine {
			return channel.StatementLine{Kind: channel.StatementPayment, AttemptNo: order.OrderNo, TradeNo: trade, AmountFen: amount, FeeFen: fee, At: when}
		}
		acme.lines["2026-11-27"] = []channel.StatementLine{
			pay(matched, "AC0001", 5000, 30, at(27, 9, 0, 0)),
			pay(missed, "AC0002", 7000, 42, at(27, 10, 0, 0)),
			pay(differs, "AC0004", 9100, 55, at(27, 12, 0, 0)),
			{Kind: channel.StatementRefund, AttemptNo: matched.OrderNo, TradeNo: "AC0001", RefundNo: "RF0001", AmountFen: 1000, At: at(27, 15, 0, 0)},
			{Kind: channel.StatementRefund, AttemptNo: matched.OrderNo, TradeNo: "AC0001", ChannelRefundNo: "ACR0002", AmountFen: 500, At: at(27, 16, 0, 0)},
		}
		acme.lines["2026-11-26"] = nil
		acme.lines["2026-11-28"] = nil
		for _, d := range []int{26, 28} {
			f.clock.Set(at(29, 3, 0, 0))
			if _, err := f.recon.FetchStatement(ctx, "acmepay", date(d), "finance"); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Set(at(28, 3, 0, 0))

		if got := f.recon.Channels(ctx); !strings.Contains(strings.Join(got, ","), "acmepay") {
			t.Fatalf("Channels = %v, want the new channel among them (it has statements)", got)
		}
		out, err := f.recon.ReconcileChannel(ctx, "acmepay", date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		st := out.Statements[0].Statement
		if st.LineCount != 5 || st.GrossFen != 21100 || st.FeeFen != 127 || st.RefundFen != 1500 || st.NetFen != 21100-127-1500 {
			t.Errorf("statement = %d lines, gross %d, fees %d, refunds %d, net %d", st.LineCount, st.GrossFen, st.FeeFen, st.RefundFen, st.NetFen)
		}
		if raw, err := f.recon.StatementFile(ctx, st.ID); err != nil || string(raw) != "ACME BILL 2026-11-27 5" {
			t.Errorf("kept file = %q, %v; want the file the adapter handed over", raw, err)
		}
		run := out.Runs[0]
		// matched: AC0001, AC0002 (repaired), both refunds.
		if run.Status != recon.RunDone || run.MatchedCount != 4 || run.MatchedFen != 5000+7000+1000+500 || run.RepairedCount != 1 || run.DiscrepancyCount != 2 {
			t.Fatalf("run = %s matched %d (%d fen) repaired %d open %d (%s), want done 4 (13500) 1 2",
				run.Status, run.MatchedCount, run.MatchedFen, run.RepairedCount, run.DiscrepancyCount, run.Message)
		}
		got := discs(t, db, "acmepay", 27)
		wantDisc(t, got, store.DiscMissingPlatform, missed.OrderNo+"/AC0002", recon.DiscCleared, "补记")
		wantDisc(t, got, store.DiscMissingChannel, onlyHere.OrderNo+"/AC0003", recon.DiscOpen, "渠道对账单无此笔")
		if d := wantDisc(t, got, store.DiscAmountDiffers, differs.OrderNo+"/AC0004", recon.DiscOpen, "¥91.00"); d != nil && (d.PlatformFen != 9000 || d.ChannelFen != 9100) {
			t.Errorf("amount differs = %d vs %d", d.PlatformFen, d.ChannelFen)
		}
		var o store.Order
		if err := db.NewSelect().Model(&o).Where("order_no = ?", missed.OrderNo).Scan(ctx); err != nil || o.Status != store.OrderPaid {
			t.Errorf("repaired order = %s, %v; want paid", o.Status, err)
		}
		if n := countRows(t, db, "payments", "channel = ? AND trade_no = ? AND amount_fen = ?", "acmepay", "AC0002", 7000); n != 1 {
			t.Errorf("%d payments AC0002 of 7000 fen, want the repair's one", n)
		}

		// The settlement of 11-27 reaches the school's account on 11-28, named the way the
		// channel said it would be.
		bankFile := "serial,time,direction,amount_fen,counterparty,reference\n" +
			"B1,2026-11-28T10:00:00+08:00,C," + strconv.FormatInt(st.NetFen, 10) + ",极速付网络科技,ACMEPAY SETTLE 2026-11-27\n" +
			"SUMMARY,1," + strconv.FormatInt(st.NetFen, 10) + ",0,0\n"
		f.clock.Set(at(29, 3, 0, 0))
		if _, err := f.recon.ImportStatement(ctx, recon.StatementInput{Source: "bank:" + recon.SimBankCode, Day: date(28),
			Origin: recon.OriginUpload, FileName: "bank.csv", Actor: "finance"}, strings.NewReader(bankFile)); err != nil {
			t.Fatal(err)
		}
		runs, err := f.recon.RunBank(ctx, date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		var settled *store.ReconRun
		for _, r := range runs {
			if r.Source == "acmepay" {
				settled = r
			}
		}
		if settled == nil || settled.MatchedCount != 1 || settled.MatchedFen != st.NetFen || settled.DiscrepancyCount != 0 {
			t.Errorf("settlement run = %+v, want matched on the bank line naming AcmePay", settled)
		}
	})
}

// TestStoredLinesStillReconcile: statements stored before lines said which refund number
// they carry (the sandbox's files carried its own, the card's ours, in one column) are
// moved by migration 0015 and reconcile as before, without fetching them again.
func TestStoredLinesStillReconcile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		sb := f.order(t, "sandbox", 3000)
		f.pay(t, sb, "sandbox", "SB0100", at(27, 9, 0, 0))
		f.refund(t, sb, "sandbox", "RF0100", "SR0100", 700, at(27, 10, 0, 0))
		card := f.order(t, "campuscard", 2000)
		f.pay(t, card, "campuscard", "D0200", at(27, 9, 0, 0))
		f.refund(t, card, "campuscard", "RF0200", "R0200", 300, at(27, 10, 0, 0))
		f.clock.Set(at(28, 3, 0, 0))

		// The database as it was before 0015, with a day's statements stored by then.
		for _, q := range []string{"DROP TABLE statement_files", "ALTER TABLE statement_lines DROP COLUMN channel_refund_no",
			"DELETE FROM schema_migrations WHERE version = '0015_statement_refunds.sql'"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		old := func(source string, lines [][]any) {
			now := store.UTC(at(28, 2, 0, 0))
			st := &store.Statement{Source: source, Day: date(27), Version: 1, ContentHash: source, Origin: "fetch", LineCount: len(lines), CreatedBy: "system", CreatedAt: now}
			if _, err := db.NewInsert().Model(st).ExcludeColumn("id").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.NewSelect().Model(st).Where("source = ?", source).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			for i, l := range lines {
				if _, err := db.ExecContext(ctx, `INSERT INTO statement_lines (statement_id, line_no, kind, trade_no, order_no, refund_no, amount_fen, occurred_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{st.ID, i + 2}, l...)...); err != nil {
					t.Fatal(err)
				}
			}
		}
		old("sandbox", [][]any{{"pay", "SB0100", sb.OrderNo, "", 3000, store.UTC(at(27, 9, 0, 0))},
			{"refund", "SB0100", sb.OrderNo, "SR0100", 700, store.UTC(at(27, 10, 0, 0))}})
		old("campuscard", [][]any{{"pay", "D0200", card.OrderNo, "", 2000, store.UTC(at(27, 9, 0, 0))},
			{"refund", "R0200", "", "RF0200", 300, store.UTC(at(27, 10, 0, 0))}})
		if ran, err := store.Migrate(ctx, db); err != nil || len(ran) != 1 {
			t.Fatalf("Migrate = %v, %v; want 0015 applied", ran, err)
		}

		for _, source := range []string{"sandbox", "campuscard"} {
			run, err := f.recon.RunChannel(ctx, source, date(27), "finance")
			if err != nil {
				t.Fatal(err)
			}
			if run.MatchedCount != 2 || run.DiscrepancyCount != 0 {
				t.Errorf("%s: stored statement = matched %d, open %d (%s); want its payment and refund matched",
					source, run.MatchedCount, run.DiscrepancyCount, run.Message)
			}
		}
	})
}
