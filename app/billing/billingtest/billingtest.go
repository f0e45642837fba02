// Package billingtest holds the fixtures the tests of billing and of the packages beside
// it share: a channel whose answers a test sets, a settable clock, and a small school with
// a payer, an approved item and three bills. Tests only.
package billingtest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/catalog"
	"campuspay/app/channel"
	"campuspay/app/clients"
	"campuspay/app/imports"
	"campuspay/app/reports"
	"campuspay/app/roster"
	"campuspay/store"
)

// FakeChannel is a channel whose answers the test sets.
type FakeChannel struct {
	Mu       sync.Mutex
	name     string
	Trades   map[string]channel.Trade // what Query answers, by order number
	Declined *channel.Declined        // what Create answers, when set
	Sync     bool                     // Create takes the money at once
	Closed   []string
	Subjects []string // what each Create was asked to show the payer, in order
}

// NewFake returns a fake channel of that name.
func NewFake(name string) *FakeChannel {
	return &FakeChannel{name: name, Trades: map[string]channel.Trade{}}
}

func (f *FakeChannel) Name() string { return f.name }
func (f *FakeChannel) Create(_ context.Context, r channel.CreateRequest) (channel.CreateResult, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Subjects = append(f.Subjects, r.Subject)
	if f.Declined != nil {
		return channel.CreateResult{}, f.Declined
	}
	if f.Sync {
		t := channel.Trade{OrderNo: r.OrderNo, TradeNo: "T" + r.OrderNo, AmountFen: r.AmountFen, Status: channel.TradeSuccess, PaidAt: time.Now()}
		f.Trades[r.OrderNo] = t
		return channel.CreateResult{Paid: &t}, nil
	}
	return channel.CreateResult{QRContent: "https://pay.example/" + r.OrderNo}, nil
}
func (f *FakeChannel) VerifyNotification(h http.Header, body []byte) (channel.Trade, error) {
	if h.Get("X-Fake-Sign") != "ok" {
		return channel.Trade{}, channel.ErrBadSignature
	}
	parts := strings.Split(string(body), ",") // order,trade,amount[,status]
	if len(parts) != 3 && len(parts) != 4 {
		return channel.Trade{}, channel.ErrMalformed
	}
	status := channel.TradeSuccess
	if len(parts) == 4 {
		status = channel.TradeStatus(parts[3])
	}
	var amount int64
	for _, c := range parts[2] {
		amount = amount*10 + int64(c-'0')
	}
	return channel.Trade{OrderNo: parts[0], TradeNo: parts[1], AmountFen: amount, Status: status, PaidAt: time.Now()}, nil
}
func (f *FakeChannel) NotificationAck() (string, []byte) { return "text/plain", []byte("success") }
func (f *FakeChannel) Query(_ context.Context, orderNo string) (channel.Trade, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if t, ok := f.Trades[orderNo]; ok {
		return t, nil
	}
	return channel.Trade{OrderNo: orderNo, Status: channel.TradeWaiting}, nil
}
func (f *FakeChannel) Close(_ context.Context, orderNo string) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Closed = append(f.Closed, orderNo)
	return nil
}
func (f *FakeChannel) Refund(context.Context, channel.RefundRequest) (channel.RefundResult, error) {
	return channel.RefundResult{}, nil
}
func (f *FakeChannel) QueryRefund(context.Context, string, string) (channel.RefundResult, error) {
	return channel.RefundResult{}, nil
}
func (f *FakeChannel) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

// Paid marks an order paid at the fake channel, as if the payer confirmed it there.
func (f *FakeChannel) Paid(o *store.Order, tradeNo string) channel.Trade {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	t := channel.Trade{OrderNo: o.OrderNo, TradeNo: tradeNo, AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: time.Now()}
	f.Trades[o.OrderNo] = t
	return t
}

// Clock is a settable time source.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

func (c *Clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Fixture is a small school: a department, two payers, an approved per-bill item and
// three bills of Payer, with a billing service on a fake sandbox and campus card.
type Fixture struct {
	Svc     *billing.Service
	Reports *reports.Service // the read models on the same database and clock
	Catalog *catalog.Service // the charge items, likewise
	BillSvc *bills.Service   // the bills before money touches them, likewise
	Clients *clients.Service // the business systems and their callbacks, likewise
	Roster  *roster.Service  // the payer roster, likewise
	Imports *imports.Runner  // the import jobs, likewise
	DB      *bun.DB
	Clock   *Clock
	Fake    *FakeChannel
	Card    *FakeChannel
	Payer   *store.User
	Other   *store.User
	Item    *store.ChargeItem // per-bill, approved
	Bills   []*store.Bill     // three bills of payer: 50000, 120000, 8000 fen
}

// NewFixture builds the fixture on db.
func NewFixture(t *testing.T, db *bun.DB) *Fixture {
	t.Helper()
	now := store.UTC(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
	f := &Fixture{DB: db, Clock: NewClock(now), Fake: NewFake("sandbox"), Card: NewFake("campuscard")}
	f.Card.Sync = true
	f.Svc = &billing.Service{
		DB:        db,
		Channels:  map[string]channel.Channel{"sandbox": f.Fake, "campuscard": f.Card},
		NotifyURL: func(string) string { return "http://127.0.0.1/notify" },
		ReturnURL: func(string) string { return "http://127.0.0.1/return" },
		Now:       f.Clock.Now,
	}
	// Receipts are numbered by a goroutine after each payment: let it finish before the
	// database closes (cleanups run last first, and the database's was registered before).
	t.Cleanup(func() { f.Svc.NumberReceipts(context.Background()) })
	f.BillSvc = &bills.Service{DB: db, Billing: f.Svc, Now: f.Clock.Now}
	f.Clients = &clients.Service{DB: db, Bills: f.BillSvc, Now: f.Clock.Now}
	f.Roster = &roster.Service{DB: db, Now: f.Clock.Now}
	f.Imports = &imports.Runner{DB: db, Now: f.Clock.Now}
	f.Catalog = &catalog.Service{DB: db, Now: f.Clock.Now}
	f.Reports = &reports.Service{DB: db, Channels: f.Svc.Channels, Now: f.Clock.Now}
	dept := &store.Department{Code: "FIN", Name: "财务处", CreatedAt: now}
	Insert(t, db, dept)
	no1, no2 := "20260001", "20260002"
	f.Payer = &store.User{Login: "20260001", Name: "张三", Roles: "payer", PayerNo: &no1, Status: "active", CreatedAt: now, UpdatedAt: now}
	f.Other = &store.User{Login: "20260002", Name: "李四", Roles: "payer", PayerNo: &no2, Status: "active", CreatedAt: now, UpdatedAt: now}
	Insert(t, db, f.Payer)
	Insert(t, db, f.Other)
	f.Item = &store.ChargeItem{Code: "TUITION-2026", Name: "2026学年学费", DepartmentID: dept.ID, Category: "tuition",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	Insert(t, db, f.Item)
	for i, amount := range []int64{50000, 120000, 8000} {
		b := &store.Bill{BillNo: "B" + string(rune('1'+i)), Source: "console", ItemID: f.Item.ID, PayerID: &f.Payer.ID,
			PayerType: "internal", PayerName: f.Payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		Insert(t, db, b)
		f.Bills = append(f.Bills, b)
	}
	return f
}

// Insert inserts model or fails the test.
func Insert(t testing.TB, db bun.IDB, model any) {
	t.Helper()
	if _, err := db.NewInsert().Model(model).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Bill reads a bill afresh.
func (f *Fixture) Bill(t *testing.T, id int64) *store.Bill {
	t.Helper()
	b := new(store.Bill)
	if err := f.DB.NewSelect().Model(b).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// Order opens an order of Payer on the sandbox.
func (f *Fixture) Order(t *testing.T, lines ...billing.LineRequest) *store.Order {
	t.Helper()
	o, err := f.Svc.CreateOrder(context.Background(), billing.OrderRequest{PayerID: f.Payer.ID, Lines: lines, Channel: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Count counts the rows of table.
func Count(t testing.TB, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
