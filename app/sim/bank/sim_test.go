package bank_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"campuspay/app/sim/bank"
	"campuspay/store"
	"campuspay/store/storetest"
)

var shanghai = time.FixedZone("CST", 8*3600)

func get(t *testing.T, app *fiber.App, sim *bank.Sim, path, key string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	ts := strconv.FormatInt(time.Date(2026, 11, 30, 3, 0, 0, 0, shanghai).Unix(), 10)
	req.Header.Set(bank.HeaderAccount, sim.Account)
	req.Header.Set(bank.HeaderTimestamp, ts)
	req.Header.Set(bank.HeaderSignature, sign(key, "GET\n"+path+"\n"+ts))
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestBankStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sim := &bank.Sim{DB: db, Account: "6222000000000001", Key: "k", SandboxMerchant: "campuspay",
			Now: func() time.Time { return time.Date(2026, 11, 30, 3, 0, 0, 0, shanghai) }}
		app := fiber.New()
		sim.Routes(app.Group("/sim/bank"))
		debit := func(no string, fen int64, at time.Time) {
			if _, err := db.NewInsert().Model(&store.CardTxn{TxnNo: no, CardNo: "C1", Kind: "debit", OutNo: "P" + no, AmountFen: fen, CreatedAt: store.UTC(at)}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		db.NewInsert().Model(&store.CardAccount{CardNo: "C1", HolderNo: "1", HolderName: "x", PasswordHash: "x", UpdatedAt: time.Now()}).Exec(ctx)
		debit("D1", 3000, time.Date(2026, 11, 27, 9, 0, 0, 0, shanghai))
		debit("D2", 2000, time.Date(2026, 11, 27, 23, 59, 59, 0, shanghai))
		debit("D3", 100, time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai))

		code, body := get(t, app, sim, "/sim/bank/api/statements/2026-11-28", "k")
		if code != http.StatusOK || !strings.Contains(body, ",C,5000,校园一卡通管理中心,CAMPUSCARD SETTLE 2026-11-27") {
			t.Fatalf("statement of 11-28 = %d\n%s", code, body)
		}
		if !strings.Contains(body, "家长汇款") || !strings.HasPrefix(body, "serial,time,direction,amount_fen,counterparty,reference\n") {
			t.Errorf("statement lacks the header or the parent's transfer\n%s", body)
		}
		if _, again := get(t, app, sim, "/sim/bank/api/statements/2026-11-28", "k"); again != body {
			t.Error("the same day's statement differs when fetched again")
		}
		if code, _ := get(t, app, sim, "/sim/bank/api/statements/2026-11-28", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("wrong key = %d, want 401", code)
		}
		if code, body := get(t, app, sim, "/sim/bank/api/statements/2026-11-30", "k"); code != http.StatusNotFound || !strings.Contains(body, "STATEMENT_NOT_READY") {
			t.Errorf("open day = %d %s", code, body)
		}

		// Delayed: on 11-29 instead of 11-28. Dropped: never.
		sim.Set("campuscard", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), bank.Delay)
		_, d28 := get(t, app, sim, "/sim/bank/api/statements/2026-11-28", "k")
		_, d29 := get(t, app, sim, "/sim/bank/api/statements/2026-11-29", "k")
		if strings.Contains(d28, "SETTLE 2026-11-27") || !strings.Contains(d29, "CAMPUSCARD SETTLE 2026-11-27") || !strings.Contains(d29, "CAMPUSCARD SETTLE 2026-11-28") {
			t.Errorf("delay: 11-28\n%s\n11-29\n%s", d28, d29)
		}
		req := httptest.NewRequest("POST", "/sim/bank/switches", strings.NewReader(`{"channel":"campuscard","day":"2026-11-27","action":"drop"}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, _ := app.Test(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /switches = %d", resp.StatusCode)
		}
		if _, d29 = get(t, app, sim, "/sim/bank/api/statements/2026-11-29", "k"); strings.Contains(d29, "SETTLE 2026-11-27") {
			t.Errorf("dropped settlement paid\n%s", d29)
		}
	})
}

func sign(key, message string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}
