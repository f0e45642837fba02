package billing_test

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
	"campuspay/app/channel"
	"campuspay/store"
)

// fakeChannel is a channel whose answers the test sets.
type fakeChannel struct {
	mu       sync.Mutex
	name     string
	trades   map[string]channel.Trade // what Query answers, by order number
	declined *channel.Declined        // what Create answers, when set
	sync     bool                     // Create takes the money at once
	closed   []string
}

func newFake(name string) *fakeChannel {
	return &fakeChannel{name: name, trades: map[string]channel.Trade{}}
}

func (f *fakeChannel) Name() string { return f.name }
func (f *fakeChannel) Create(_ context.Context, r channel.CreateRequest) (channel.CreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.declined != nil {
		return channel.CreateResult{}, f.declined
	}
	if f.sync {
		t := channel.Trade{OrderNo: r.OrderNo, TradeNo: "T" + r.OrderNo, AmountFen: r.AmountFen, Status: channel.TradeSuccess, PaidAt: time.Now()}
		f.trades[r.OrderNo] = t
		return channel.CreateResult{Paid: &t}, nil
	}
	return channel.CreateResult{QRContent: "https://pay.example/" + r.OrderNo}, nil
}
func (f *fakeChannel) VerifyNotification(h http.Header, body []byte) (channel.Trade, error) {
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
func (f *fakeChannel) NotificationAck() (string, []byte) { return "text/plain", []byte("success") }
func (f *fakeChannel) Query(_ context.Context, orderNo string) (channel.Trade, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.trades[orderNo]; ok {
		return t, nil
	}
	return channel.Trade{OrderNo: orderNo, Status: channel.TradeWaiting}, nil
}
func (f *fakeChannel) Close(_ context.Context, orderNo string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, orderNo)
	return nil
}
func (f *fakeChannel) Refund(context.Context, channel.RefundRequest) (channel.RefundResult, error) {
	return channel.RefundResult{}, nil
}
func (f *fakeChannel) QueryRefund(context.Context, string, string) (channel.RefundResult, error) {
	return channel.RefundResult{}, nil
}
func (f *fakeChannel) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

// paid marks an order paid at the fake channel, as if the payer confirmed it there.
func (f *fakeChannel) paid(o *store.Order, tradeNo string) channel.Trade {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := channel.Trade{OrderNo: o.OrderNo, TradeNo: tradeNo, AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: time.Now()}
	f.trades[o.OrderNo] = t
	return t
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	svc   *billing.Service
	db    *bun.DB
	clock *clock
	fake  *fakeChannel
	card  *fakeChannel
	payer *store.User
	other *store.User
	item  *store.ChargeItem // per-bill, approved
	bills []*store.Bill     // three bills of payer: 50000, 120000, 8000 fen
}

func newFixture(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	now := store.UTC(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
	f := &fixture{db: db, clock: &clock{t: now}, fake: newFake("sandbox"), card: newFake("campuscard")}
	f.card.sync = true
	f.svc = &billing.Service{
		DB:        db,
		Channels:  map[string]channel.Channel{"sandbox": f.fake, "campuscard": f.card},
		NotifyURL: func(string) string { return "http://127.0.0.1/notify" },
		ReturnURL: func(string) string { return "http://127.0.0.1/return" },
		Now:       f.clock.Now,
	}
	dept := &store.Department{Code: "FIN", Name: "财务处", CreatedAt: now}
	insert(t, db, dept)
	no1, no2 := "20260001", "20260002"
	f.payer = &store.User{Login: "20260001", Name: "张三", Roles: "payer", PayerNo: &no1, Status: "active", CreatedAt: now, UpdatedAt: now}
	f.other = &store.User{Login: "20260002", Name: "李四", Roles: "payer", PayerNo: &no2, Status: "active", CreatedAt: now, UpdatedAt: now}
	insert(t, db, f.payer)
	insert(t, db, f.other)
	f.item = &store.ChargeItem{Code: "TUITION-2026", Name: "2026学年学费", DepartmentID: dept.ID, Category: "tuition",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	insert(t, db, f.item)
	for i, amount := range []int64{50000, 120000, 8000} {
		b := &store.Bill{BillNo: "B" + string(rune('1'+i)), Source: "console", ItemID: f.item.ID, PayerID: &f.payer.ID,
			PayerType: "internal", PayerName: f.payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		insert(t, db, b)
		f.bills = append(f.bills, b)
	}
	return f
}

func insert(t *testing.T, db bun.IDB, model any) {
	t.Helper()
	if _, err := db.NewInsert().Model(model).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) bill(t *testing.T, id int64) *store.Bill {
	t.Helper()
	b := new(store.Bill)
	if err := f.db.NewSelect().Model(b).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) order(t *testing.T, lines ...billing.LineRequest) *store.Order {
	t.Helper()
	o, err := f.svc.CreateOrder(context.Background(), billing.OrderRequest{PayerID: f.payer.ID, Lines: lines, Channel: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func count(t *testing.T, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
