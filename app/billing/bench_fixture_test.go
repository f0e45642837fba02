package billing_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/channel"
	sandboxchannel "campuspay/app/channel/sandbox"
	"campuspay/store"
	"campuspay/store/storetest"
)

// benchKey signs the sandbox notifications of the benchmarks.
const benchKey = "bench-sandbox-key-0123456789abcdef"

// benchChunk is how many orders one round of multi-row INSERTs creates (with as many payers,
// twice as many bills and lines).
const benchChunk = 1000

// benchFixture is a migrated database with a department, an approved item, this year's
// receipt sequence row, a billing service whose "sandbox" channel is the real adapter (so
// that notifications are verified as in production), and — for the hand-written SQL — a
// plain database/sql handle on the same database.
type benchFixture struct {
	Svc  *billing.Service
	DB   *bun.DB
	raw  *sql.DB // hand-written SQL: on MySQL with client-side interpolation, as bun sends it
	Item *store.ChargeItem
	next int // orders made so far: keeps numbers unique across calls
}

// benchOrder is a pre-created open order, the trade that pays it, and the sandbox
// company's signed notification of that trade.
type benchOrder struct {
	order  *store.Order
	trade  channel.Trade
	header http.Header
	body   []byte
}

// eachBenchDB runs fn as a sub-benchmark on SQLite and, when CAMPUSPAY_TEST_MYSQL is set,
// on MariaDB/MySQL; each gets a fresh database of its own.
func eachBenchDB(b *testing.B, fn func(b *testing.B, f *benchFixture)) {
	b.Run("sqlite", func(b *testing.B) {
		db := storetest.SQLite(b)
		fn(b, newBenchFixture(b, db, db.DB))
	})
	b.Run("mysql", func(b *testing.B) {
		if os.Getenv(storetest.EnvMySQL) == "" {
			b.Skip(storetest.EnvMySQL + " not set: set it to a DSN such as 'root@tcp(127.0.0.1:3306)/' to benchmark on MariaDB/MySQL")
		}
		dsn := storetest.MySQLDSN(b)
		db, err := store.Open(dsn, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if _, err := store.Migrate(context.Background(), db); err != nil {
			b.Fatal(err)
		}
		fn(b, newBenchFixture(b, db, openRawMySQL(b, dsn)))
	})
}

// openRawMySQL opens dsn with the settings store.Open uses, plus client-side interpolation
// of arguments: without it, every statement with arguments costs three round trips
// (prepare, execute, close) where bun's queries, which bun formats itself, cost one.
func openRawMySQL(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ParseTime, cfg.ClientFoundRows, cfg.InterpolateParams, cfg.Loc = true, true, true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	raw := sql.OpenDB(conn)
	raw.SetMaxOpenConns(64)
	raw.SetMaxIdleConns(64)
	b.Cleanup(func() { raw.Close() })
	return raw
}

func newBenchFixture(b *testing.B, db *bun.DB, raw *sql.DB) *benchFixture {
	b.Helper()
	ctx := context.Background()
	now := store.UTC(time.Now())
	f := &benchFixture{DB: db, raw: raw}
	f.Svc = &billing.Service{
		DB: db,
		Channels: map[string]channel.Channel{
			"sandbox": sandboxchannel.New(sandboxchannel.Config{GatewayURL: "http://127.0.0.1:9/unused", Merchant: "campuspay", Key: benchKey}),
		},
		NotifyURL: func(string) string { return "http://127.0.0.1/notify" },
		ReturnURL: func(string) string { return "http://127.0.0.1/return" },
	}
	dept := &store.Department{Code: "FIN", Name: "财务处", CreatedAt: now}
	mustInsert(b, db, dept)
	f.Item = &store.ChargeItem{Code: "TUITION-2026", Name: "2026学年学费", DepartmentID: dept.ID, Category: "tuition",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	mustInsert(b, db, f.Item)
	// The year's sequence row exists from the first receipt on; making it here keeps the
	// first-receipt race (a benign retry) out of the figures, and the hand-written SQL
	// needs it.
	year := now.In(bizday.Shanghai).Year()
	if _, err := db.NewInsert().Model(&store.ReceiptSequence{Year: year, LastNo: 0}).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	return f
}

func mustInsert(b *testing.B, db bun.IDB, model any) {
	b.Helper()
	if _, err := db.NewInsert().Model(model).Exec(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// openOrders makes n open orders, each of two bills (¥500.00 and ¥80.00) of a payer of its
// own, held by the order — the state billing.Service.CreateOrder leaves — with multi-row
// INSERTs of benchChunk orders at a time. It is meant to run with the timer stopped.
func (f *benchFixture) openOrders(b *testing.B, n int) []benchOrder {
	b.Helper()
	ctx := context.Background()
	out := make([]benchOrder, 0, n)
	for done := 0; done < n; {
		m := min(benchChunk, n-done)
		now := store.UTC(time.Now())
		expires := now.Add(15 * time.Minute)
		users := make([]*store.User, m)
		orders := make([]*store.Order, m)
		for i := range m {
			k := f.next + done + i
			no := fmt.Sprintf("B%09d", k)
			users[i] = &store.User{Login: no, Name: "缴费人" + strconv.Itoa(k), Roles: "payer", PayerNo: &no, Status: "active", CreatedAt: now, UpdatedAt: now}
		}
		if _, err := f.DB.NewInsert().Model(&users).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		for i, u := range users {
			orders[i] = &store.Order{OrderNo: fmt.Sprintf("PBENCH%09d", f.next+done+i), PayerID: &u.ID, PayerName: u.Name,
				Channel: "sandbox", TotalFen: 58000, Status: store.OrderOpen, ExpiresAt: expires, CreatedAt: now, UpdatedAt: now}
		}
		if _, err := f.DB.NewInsert().Model(&orders).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		bills := make([]*store.Bill, 0, 2*m)
		for i, o := range orders {
			for j, amount := range []int64{50000, 8000} {
				bills = append(bills, &store.Bill{BillNo: fmt.Sprintf("%s-%d", o.OrderNo, j), Source: "console", ItemID: f.Item.ID,
					PayerID: &users[i].ID, PayerType: "internal", PayerName: users[i].Name, AmountDueFen: amount, Status: store.BillUnpaid,
					HeldByOrderID: &o.ID, HeldUntil: &expires, CreatedAt: now, UpdatedAt: now})
			}
		}
		if _, err := f.DB.NewInsert().Model(&bills).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		lines := make([]*store.OrderLine, 0, 2*m)
		for i, o := range orders {
			for j := range 2 {
				bill := bills[2*i+j]
				if bill.ID == 0 || *bill.HeldByOrderID != o.ID || o.ID == 0 {
					b.Fatalf("bulk insert left ids unset: order %d bill %d", o.ID, bill.ID)
				}
				lines = append(lines, &store.OrderLine{OrderID: o.ID, BillID: bill.ID, AmountFen: bill.AmountDueFen})
			}
		}
		if _, err := f.DB.NewInsert().Model(&lines).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		for _, o := range orders {
			bo := benchOrder{order: o, trade: channel.Trade{OrderNo: o.OrderNo, TradeNo: "T" + o.OrderNo,
				AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: now}}
			bo.header, bo.body = notification(bo)
			bo.trade.Raw = string(bo.body)
			out = append(out, bo)
		}
		done += m
	}
	f.next += n
	return out
}

// notification is what the sandbox company would post for a paid order: the JSON body and
// the signature headers of its protocol (HMAC-SHA256 over "NOTIFY\n"+timestamp+"\n"+
// hex(sha256(body))), as app/sim/sandbox signs them.
func notification(o benchOrder) (http.Header, []byte) {
	body, _ := json.Marshal(map[string]any{
		"merchant": "campuspay", "out_trade_no": o.order.OrderNo, "trade_no": o.trade.TradeNo,
		"amount_fen": o.order.TotalFen, "status": "SUCCESS", "paid_at": o.trade.PaidAt.Format(time.RFC3339),
	})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(benchKey))
	m.Write([]byte("NOTIFY\n" + ts + "\n" + hex.EncodeToString(sum[:])))
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Sandbox-Timestamp", ts)
	h.Set("X-Sandbox-Signature", hex.EncodeToString(m.Sum(nil)))
	return h, body
}

// checkPaid fails the benchmark unless every order of batch was paid with both bills
// credited: a benchmark that measured failures would measure nothing.
func (f *benchFixture) checkPaid(b *testing.B, batch []benchOrder) {
	b.Helper()
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	ids := make([]int64, len(batch))
	for i, o := range batch {
		ids[i] = o.order.ID
	}
	paid, err := f.DB.NewSelect().Model((*store.Order)(nil)).Where("id IN (?)", bun.In(ids)).Where("status = ?", store.OrderPaid).Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	credited, err := f.DB.NewSelect().Model((*store.Bill)(nil)).Where("held_by_order_id IS NULL").Where("status = ?", store.BillPaid).
		Where("id IN (SELECT bill_id FROM order_lines WHERE order_id IN (?))", bun.In(ids)).Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if int(paid) != len(batch) || int(credited) != 2*len(batch) {
		b.Fatalf("after the run: %d of %d orders paid, %d of %d bills credited", paid, len(batch), credited, 2*len(batch))
	}
	receipts, err := f.DB.NewSelect().Model((*store.Receipt)(nil)).Where("order_id IN (?)", bun.In(ids)).Where("seq IS NOT NULL").Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if int(receipts) != 2*len(batch) {
		b.Fatalf("after the run: %d of %d receipts numbered", receipts, 2*len(batch))
	}
}

// numbered waits until every receipt the payments wrote has its number: a payment is done
// when its receipts are numbered, so the benchmarks time this too.
func (f *benchFixture) numbered(b *testing.B) {
	b.Helper()
	if err := f.Svc.NumberReceipts(context.Background()); err != nil {
		b.Fatal(err)
	}
}
