package recon_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/recon"
	banksim "campuspay/app/sim/bank"
	"campuspay/store"
	"campuspay/store/storetest"
)

// startBank serves the simulated bank on a loopback port and points recon at it.
func startBank(t *testing.T, f *fixture) *banksim.Sim {
	t.Helper()
	sim := &banksim.Sim{DB: f.db, Account: "6222000000000001", Key: "bank-key", SandboxMerchant: "campuspay"}
	sim.SetClock(f.clock.Now)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	sim.Routes(app.Group("/sim/bank"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	f.recon.Bank = &recon.BankClient{BaseURL: "http://" + ln.Addr().String() + "/sim/bank", Account: sim.Account, Key: "bank-key", Now: f.clock.Now}
	return sim
}

// TestReconcileBank: the sandbox's settlement of 11-27 arrives a day late (T+2) and is
// matched; the campus card's never arrives and is flagged; a parent's transfer on 11-28 is
// an unexplained credit until finance resolves it.
func TestReconcileBank(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		bank := startBank(t, f)

		// The payment companies' own books for 11-27 …
		paid1, paid2 := store.UTC(at(27, 9, 0, 0)), store.UTC(at(27, 18, 30, 0))
		insert(t, db, &store.SandboxTrade{TradeNo: "SB1", OutTradeNo: "P1", Merchant: "campuspay", Subject: "学费", AmountFen: 100000,
			NotifyURL: "http://x", Status: "SUCCESS", CreatedAt: paid1, PaidAt: &paid1})
		insert(t, db, &store.SandboxTrade{TradeNo: "SB2", OutTradeNo: "P2", Merchant: "campuspay", Subject: "学费", AmountFen: 25000,
			NotifyURL: "http://x", Status: "SUCCESS", CreatedAt: paid2, PaidAt: &paid2})
		insert(t, db, &store.SandboxRefund{RefundNo: "SR1", OutRefundNo: "RF1", TradeNo: "SB1", AmountFen: 5000, Status: "SUCCESS", CreatedAt: store.UTC(at(27, 20, 0, 0))})
		insert(t, db, &store.CardAccount{CardNo: "C2026000001", HolderNo: "2026000001", HolderName: "张三", PasswordHash: "x", UpdatedAt: paid1})
		insert(t, db, &store.CardTxn{TxnNo: "D1", CardNo: "C2026000001", Kind: "debit", OutNo: "P3", AmountFen: 3000, CreatedAt: paid1})
		// … and their statements, as the channels serve them.
		f.sandbox.set(date(27), sandboxStatement(
			sbLine{"PAY", "SB1", "P1", "", 100000, at(27, 9, 0, 0)},
			sbLine{"PAY", "SB2", "P2", "", 25000, at(27, 18, 30, 0)},
			sbLine{"REFUND", "SB1", "P1", "SR1", 5000, at(27, 20, 0, 0)}))
		f.card.set(date(27), cardStatement(sbLine{"debit", "D1", "P3", "", 3000, at(27, 9, 0, 0)}))
		bank.Set("sandbox", date(27), banksim.Delay)
		bank.Set("campuscard", date(27), banksim.Drop)

		f.clock.Set(at(28, 3, 0, 0))
		sandboxSt, err := f.recon.FetchStatement(ctx, "sandbox", date(27), "system")
		if err != nil {
			t.Fatal(err)
		}
		wantNet := int64(100000 - 600 + 25000 - 150 - 5000)
		if sandboxSt.Statement.NetFen != wantNet {
			t.Fatalf("sandbox net = %d, want %d", sandboxSt.Statement.NetFen, wantNet)
		}
		if _, err := f.recon.FetchStatement(ctx, "campuscard", date(27), "system"); err != nil {
			t.Fatal(err)
		}
		// The bank's statement of 11-28 is not there until 11-28 has ended.
		if _, err := f.recon.FetchStatement(ctx, "bank", date(28), "system"); err == nil {
			t.Fatal("fetched the bank statement of a day that has not ended")
		}

		f.clock.Set(at(29, 3, 0, 0))
		out, err := f.recon.ReconcileBank(ctx, date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		runs := map[string]*store.ReconRun{}
		for _, r := range out.Runs {
			runs[r.Source] = r
		}
		// With only 11-28's bank statement in, the delayed settlement is provisionally unmatched.
		if r := runs["sandbox"]; r == nil || r.MatchedCount != 0 || r.DiscrepancyCount != 1 {
			t.Fatalf("sandbox settlement on T+1 = %+v", r)
		}
		wantDisc(t, discs(t, db, "sandbox", 27), "settlement_unmatched", "settle/2026-11-27", recon.DiscOpen, "尚未获取")

		f.clock.Set(at(31, 3, 0, 0)) // 11-28, 11-29 and 11-30 have ended
		out, err = f.recon.ReconcileBank(ctx, date(27), "finance")
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Statements) != 3 {
			t.Errorf("fetched %d bank statements, want 3 (T+1 to T+3)", len(out.Statements))
		}
		runs = map[string]*store.ReconRun{}
		for _, r := range out.Runs {
			runs[r.Source] = r
		}
		if r := runs["sandbox"]; r.MatchedCount != 1 || r.MatchedFen != wantNet || r.DiscrepancyCount != 0 {
			t.Errorf("sandbox settlement = matched %d (%d fen) open %d, want 1 %d 0: %s", r.MatchedCount, r.MatchedFen, r.DiscrepancyCount, wantNet, r.Message)
		} else if want := "T+2"; !strings.Contains(r.Message, want) {
			t.Errorf("sandbox settlement message %q lacks %q", r.Message, want)
		}
		wantDisc(t, discs(t, db, "sandbox", 27), "settlement_unmatched", "settle/2026-11-27", recon.DiscCleared, "")
		if r := runs["campuscard"]; r.MatchedCount != 0 || r.DiscrepancyCount != 1 {
			t.Errorf("card settlement = matched %d open %d, want 0 1", r.MatchedCount, r.DiscrepancyCount)
		}
		card := wantDisc(t, discs(t, db, "campuscard", 27), "settlement_unmatched", "settle/2026-11-27", recon.DiscOpen, "未找到")
		if card != nil && card.ChannelFen != 3000 {
			t.Errorf("card settlement discrepancy amount = %d, want 3000", card.ChannelFen)
		}
		// The bank's 11-28: the parent's transfer explains nothing.
		bankDay := discs(t, db, "bank:SIM", 28)
		var unexplained *store.Discrepancy
		for _, d := range bankDay {
			if d.Type == "bank_unexplained" && d.BankLineID != nil {
				unexplained = d
			}
		}
		if unexplained == nil || unexplained.Status != recon.DiscOpen || !strings.Contains(unexplained.Note, "学费") {
			t.Fatalf("bank 11-28 discrepancies = %v, want the parent's transfer unexplained", bankDay)
		}
		if _, err := f.recon.Resolve(ctx, unexplained.ID, "家长学费汇款，已转学费专户", "finance"); err != nil {
			t.Fatal(err)
		}

		// Rerun: the same, and what finance resolved stays resolved.
		rows := countRows(t, db, "discrepancies", "1 = 1")
		if _, err := f.recon.ReconcileBank(ctx, date(27), "finance"); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "discrepancies", "1 = 1"); n != rows {
			t.Errorf("rerun: %d discrepancy rows, want %d", n, rows)
		}
		if d, _ := f.recon.DiscrepancyByID(ctx, unexplained.ID); d.Status != recon.DiscResolved {
			t.Errorf("resolved credit is %s after a rerun", d.Status)
		}
		// The 11-29 credit is the sandbox's settlement: explained when 11-29's credits are checked.
		if _, err := f.recon.RunBank(ctx, date(28), "finance"); err != nil && !strings.Contains(err.Error(), "尚未获取") {
			t.Fatal(err)
		}
		for _, d := range discs(t, db, "bank:SIM", 29) {
			if strings.Contains(d.Note, "SANDBOX SETTLE") {
				t.Errorf("the sandbox settlement on 11-29 is flagged: %+v", d)
			}
		}
	})
}
