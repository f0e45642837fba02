package recon_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/channel/campuscard"
	"campuspay/app/channel/sandbox"
	"campuspay/app/recon"
	"campuspay/store"
)

var shanghai = time.FixedZone("CST", 8*3600)

// at is a Shanghai wall-clock time on 2026-11-<day>.
func at(day, hour, minute, second int) time.Time {
	return time.Date(2026, 11, day, hour, minute, second, 0, shanghai)
}

// date is a business day as recon takes it.
func date(day int) time.Time { return time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) }

// fakeChannel answers what a channel adapter would; its statements are what the test
// sets, by day, read with the parser and settlement markers of the adapter it stands for.
type fakeChannel struct {
	name       string
	mu         sync.Mutex
	statements map[string]string
	parse      func([]byte) (channel.Statement, error)
	caps       channel.Capabilities
}

// newFake stands in for the sandbox or the campus card adapter.
func newFake(name string) *fakeChannel {
	f := &fakeChannel{name: name, statements: map[string]string{}}
	switch name {
	case "sandbox":
		f.parse, f.caps = sandbox.ParseStatement, sandbox.New(sandbox.Config{}).Capabilities()
	case "campuscard":
		f.parse, f.caps = campuscard.ParseStatement, campuscard.New(campuscard.Config{}).Capabilities()
	}
	return f
}

func (f *fakeChannel) Name() string { return f.name }
func (f *fakeChannel) Create(_ context.Context, r channel.CreateRequest) (channel.CreateResult, error) {
	return channel.CreateResult{QRContent: "https://pay.example/" + r.OrderNo}, nil
}
func (f *fakeChannel) VerifyNotification(http.Header, []byte) (channel.Trade, error) {
	return channel.Trade{}, channel.ErrBadSignature
}
func (f *fakeChannel) NotificationAck() (string, []byte) { return "text/plain", []byte("success") }
func (f *fakeChannel) Query(_ context.Context, no string) (channel.Trade, error) {
	return channel.Trade{OrderNo: no, Status: channel.TradeNotFound}, nil
}
func (f *fakeChannel) Close(context.Context, string) error { return nil }
func (f *fakeChannel) Refund(context.Context, channel.RefundRequest) (channel.RefundResult, error) {
	return channel.RefundResult{}, channel.ErrUnavailable
}
func (f *fakeChannel) QueryRefund(context.Context, string, string) (channel.RefundResult, error) {
	return channel.RefundResult{}, channel.ErrUnavailable
}
func (f *fakeChannel) Statement(_ context.Context, day time.Time) (channel.Statement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.statements[day.Format(time.DateOnly)]
	if !ok {
		return channel.Statement{}, channel.ErrUnavailable
	}
	st, err := f.parse([]byte(s))
	st.FileName = f.name + "-" + day.Format(time.DateOnly) + ".csv"
	return st, err
}
func (f *fakeChannel) ParseStatement(raw []byte) (channel.Statement, error) { return f.parse(raw) }
func (f *fakeChannel) Capabilities() channel.Capabilities                   { return f.caps }
func (f *fakeChannel) set(day time.Time, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statements[day.Format(time.DateOnly)] = text
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	db      *bun.DB
	clock   *clock
	billing *billing.Service
	recon   *recon.Service
	sandbox *fakeChannel
	card    *fakeChannel
	payer   *store.User
	item    *store.ChargeItem
	n       int
}

func newFixture(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: &clock{t: at(27, 8, 0, 0)},
		sandbox: newFake("sandbox"), card: newFake("campuscard")}
	f.billing = &billing.Service{DB: db, Now: f.clock.Now,
		Channels:  map[string]channel.Channel{"sandbox": f.sandbox, "campuscard": f.card},
		NotifyURL: func(string) string { return "http://127.0.0.1/notify" },
		ReturnURL: func(string) string { return "http://127.0.0.1/return" }}
	f.recon = &recon.Service{Billing: f.billing}
	now := store.UTC(f.clock.Now())
	dept := &store.Department{Code: "FIN", Name: "财务处", CreatedAt: now}
	insert(t, db, dept)
	no := "2026000001"
	f.payer = &store.User{Login: no, Name: "张三", Roles: "payer", PayerNo: &no, Status: "active", CreatedAt: now, UpdatedAt: now}
	insert(t, db, f.payer)
	f.item = &store.ChargeItem{Code: "TUITION-2026", Name: "学费", DepartmentID: dept.ID, Category: "tuition",
		Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	insert(t, db, f.item)
	return f
}

func insert(t testing.TB, db bun.IDB, model any) {
	t.Helper()
	if _, err := db.NewInsert().Model(model).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// order opens an order of one new bill of amount on a channel.
func (f *fixture) order(t *testing.T, channelName string, amount int64) *store.Order {
	t.Helper()
	f.n++
	now := store.UTC(f.clock.Now())
	b := &store.Bill{BillNo: "B" + strconv.Itoa(f.n), Source: "console", ItemID: f.item.ID, PayerID: &f.payer.ID,
		PayerType: "internal", PayerName: f.payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
	insert(t, f.db, b)
	o, err := f.billing.CreateOrder(context.Background(), billing.OrderRequest{PayerID: f.payer.ID, Channel: channelName,
		Lines: []billing.LineRequest{{BillID: b.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// pay applies a channel's trade for an order, as its notification would.
func (f *fixture) pay(t *testing.T, o *store.Order, channelName, tradeNo string, paidAt time.Time) {
	t.Helper()
	if _, err := f.billing.ApplyTrade(context.Background(), channelName, channel.Trade{OrderNo: o.OrderNo, TradeNo: tradeNo,
		AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: paidAt, Raw: "notify"}); err != nil {
		t.Fatal(err)
	}
}

// refund records a refund the platform finished (as the refund flow leaves it).
func (f *fixture) refund(t *testing.T, o *store.Order, channelName, refundNo, channelRefundNo string, amount int64, finished time.Time) {
	t.Helper()
	p := new(store.Payment)
	if err := f.db.NewSelect().Model(p).Where("order_id = ?", o.ID).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	fin := store.UTC(finished)
	insert(t, f.db, &store.Refund{RefundNo: refundNo, OrderID: o.ID, PaymentID: p.ID, AmountFen: amount, Reason: "退课",
		Status: store.RefundSucceeded, RequestedBy: "finance", RequestedAt: fin, Channel: channelName,
		ChannelRefundNo: channelRefundNo, Source: "console", ClientRefundNo: refundNo, CreatedAt: fin, UpdatedAt: fin, FinishedAt: &fin})
}

// sbLine is one line of a sandbox statement.
type sbLine struct {
	kind, trade, order, refund string
	amount                     int64
	at                         time.Time
}

// sandboxStatement writes a sandbox statement as the gateway does (0.6% fees, summary).
func sandboxStatement(lines ...sbLine) string {
	var b strings.Builder
	b.WriteString("type,trade_no,out_trade_no,refund_no,amount_fen,fee_fen,time\n")
	var gross, fees, refunds int64
	for _, l := range lines {
		fee := int64(0)
		if l.kind == "PAY" {
			fee = (l.amount*6 + 500) / 1000
			gross += l.amount
		} else {
			refunds += l.amount
		}
		fees += fee
		fmt.Fprintf(&b, "%s,%s,%s,%s,%d,%d,%s\n", l.kind, l.trade, l.order, l.refund, l.amount, fee, l.at.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "SUMMARY,%d,%d,%d,%d,%d\n", len(lines), gross, fees, refunds, gross-fees-refunds)
	return b.String()
}

// cardStatement writes a campus card statement: lines "debit|refund,txn,out_no,amount,time".
func cardStatement(lines ...sbLine) string {
	var b strings.Builder
	b.WriteString("kind,txn_no,card_no,holder_no,out_no,amount_fen,time\n")
	var nd, nr int
	var d, r int64
	for _, l := range lines {
		out := l.order
		if l.kind == "refund" {
			out = l.refund
			nr++
			r += l.amount
		} else {
			nd++
			d += l.amount
		}
		fmt.Fprintf(&b, "%s,%s,C2026000001,2026000001,%s,%d,%s\n", l.kind, l.trade, out, l.amount, l.at.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "SUMMARY,%d,%d,%d,%d,%d\n", nd, d, nr, r, d-r)
	return b.String()
}

func countRows(t *testing.T, db *bun.DB, table, where string, args ...any) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Where(where, args...).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
