package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/bizday"
	"campuspay/app/imports"
	"campuspay/app/reports"
	"campuspay/store"
	"campuspay/store/storetest"
)

// offlineFixture is the billing fixture (now 2026-11-27 10:00 in bizday.Shanghai; payer 20260001
// with tuition bills B1 ¥500, B2 ¥1,200, B3 ¥80 — partial payment allowed here) plus:
// a fixed-price dormitory item (no partial payment) with bills D1 (payer) and D2 (other); a
// conference item closed on 2026-11-20 with bill C1 (payer); and a business system's bill
// ADM-1 of ¥300 for the other payer under the tuition item.
type offlineFixture struct {
	*billingtest.Fixture
	dorm, conf *store.ChargeItem
	d1, d2, c1 *store.Bill
	client     *store.Bill
}

func newOfflineFixture(t *testing.T, db *bun.DB) *offlineFixture {
	t.Helper()
	ctx := context.Background()
	f := &offlineFixture{Fixture: billingtest.NewFixture(t, db)}
	now := f.Clock.Now()
	if _, err := db.NewUpdate().Model((*store.ChargeItem)(nil)).Set("partial_allowed = ?", true).Where("id = ?", f.Item.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	f.dorm = &store.ChargeItem{Code: "DORM-2026", Name: "住宿费", DepartmentID: f.Item.DepartmentID, Category: "accommodation",
		Audience: store.AudienceInternal, Pricing: store.PricingFixed, PriceFen: 120000, Status: store.ItemApproved, CreatedAt: now, UpdatedAt: now}
	opens := time.Date(2026, 11, 1, 0, 0, 0, 0, bizday.Shanghai).UTC()
	closes := time.Date(2026, 11, 20, 0, 0, 0, 0, bizday.Shanghai).UTC() // stored as UTC, as the platform stores times
	f.conf = &store.ChargeItem{Code: "CONF-2026", Name: "学术会议注册费", DepartmentID: f.Item.DepartmentID, Category: "conference",
		Audience: store.AudienceBoth, Pricing: store.PricingFixed, PriceFen: 80000, Status: store.ItemClosed,
		OpensAt: &opens, ClosesAt: &closes, CreatedAt: now, UpdatedAt: now}
	billingtest.Insert(t, db, f.dorm)
	billingtest.Insert(t, db, f.conf)
	bill := func(no string, item *store.ChargeItem, payer *store.User, amount int64, client string) *store.Bill {
		b := &store.Bill{BillNo: no, Source: "console", SourceClient: client, ItemID: item.ID, PayerID: &payer.ID, PayerType: "internal",
			PayerName: payer.Name, AmountDueFen: amount, Status: store.BillUnpaid, CreatedAt: now, UpdatedAt: now}
		if client != "" {
			b.Source = "api"
		}
		billingtest.Insert(t, db, b)
		return b
	}
	f.d1 = bill("D1", f.dorm, f.Payer, 120000, "")
	f.d2 = bill("D2", f.dorm, f.Other, 120000, "")
	f.c1 = bill("C1", f.conf, f.Payer, 80000, "")
	f.client = bill("ADM-1", f.Item, f.Other, 30000, "adm")
	return f
}

// importOffline runs an offline import of a CSV file to its end.
func (f *offlineFixture) importOffline(t *testing.T, csv string) (*store.ImportJob, []imports.RowError) {
	t.Helper()
	job, err := f.Svc.ImportOffline(context.Background(), "collections.csv", []byte(csv), "finance")
	if err != nil {
		t.Fatal(err)
	}
	return billingtest.WaitImport(t, f.Imports, job.ID)
}

// offlineCounts is every table an import writes to, counted.
func offlineCounts(t *testing.T, db *bun.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"orders", "order_lines", "payments", "receipts", "offline_collections", "events", "overpayments"} {
		out[table] = billingtest.Count(t, db, table)
	}
	return out
}

const offlineHeader = "方式,学号/工号,项目编码,账单号,金额,收款日期,凭证号/参考号,备注\n"

func TestOfflineImportSettlesBills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newOfflineFixture(t, db)
		file := offlineHeader +
			"现金,,,B1,500.00,2026-11-26,XJ-0001,柜台收取\n" +
			"POS,,,B2,200.00,2026-11-27,POS-7781,\n" +
			"代扣,20260001,TUITION-2026,B2,300.00,2026-11-27,DK-1,\n" + // bill number and payer agree
			"现金,20260002,TUITION-2026,,300.00,2026-11-25,XJ-0002,接入系统账单\n" + // the payer's one bill under the item
			"pos,20260001,DORM-2026,,1200.00,2026-11-27,POS-7782,\n" +
			"现金,20260001,CONF-2026,,800.00,2026-11-19,XJ-0003,截止前现场收取\n" // closed item, collected before it closed
		job, bad := f.importOffline(t, file)
		if job.Status != store.ImportDone {
			t.Fatalf("import = %s %q %v, want done", job.Status, job.Message, bad)
		}
		if !strings.Contains(job.Message, "已导入 6 笔线下收款") || !strings.Contains(job.Message, "¥3,300.00") {
			t.Errorf("message = %q, want 6 collections totalling ¥3,300.00", job.Message)
		}

		for _, tt := range []struct {
			bill   *store.Bill
			paid   int64
			status store.BillStatus
		}{
			{f.Bills[0], 50000, store.BillPaid}, {f.Bills[1], 50000, store.BillPartial}, {f.Bills[2], 0, store.BillUnpaid},
			{f.client, 30000, store.BillPaid}, {f.d1, 120000, store.BillPaid}, {f.c1, 80000, store.BillPaid}, {f.d2, 0, store.BillUnpaid},
		} {
			b := f.Bill(t, tt.bill.ID)
			if b.AmountPaidFen != tt.paid || b.Status != tt.status {
				t.Errorf("bill %s: paid %d %s, want %d %s", b.BillNo, b.AmountPaidFen, b.Status, tt.paid, tt.status)
			}
		}
		b1 := f.Bill(t, f.Bills[0].ID)
		if want := time.Date(2026, 11, 26, 0, 0, 0, 0, bizday.Shanghai); b1.PaidAt == nil || !b1.PaidAt.Equal(want) {
			t.Errorf("B1 paid_at = %v, want the collection day %v", b1.PaidAt, want)
		}

		var payments []store.Payment
		if err := db.NewSelect().Model(&payments).OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(payments) != 6 || payments[0].Channel != "offline" || payments[0].TradeNo != "cash:XJ-0001" || payments[0].CreditedFen != 50000 {
			t.Fatalf("payments = %+v, want 6 of channel offline, the first cash:XJ-0001 crediting 50000", payments)
		}
		var orders []store.Order
		if err := db.NewSelect().Model(&orders).OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			if o.Channel != "offline" || o.Status != store.OrderPaid || !strings.HasPrefix(o.OrderNo, "F") || len(o.OrderNo) > 32 {
				t.Errorf("order %s: channel %s status %s, want a paid offline order numbered F…", o.OrderNo, o.Channel, o.Status)
			}
		}
		var receipts []store.Receipt
		if err := db.NewSelect().Model(&receipts).OrderExpr("seq").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(receipts) != 6 {
			t.Fatalf("%d receipts, want one per row (6)", len(receipts))
		}
		for i, r := range receipts {
			if r.Seq != int64(i+1) || r.Channel != "offline" || r.Year != 2026 {
				t.Errorf("receipt %d = %s seq %d channel %s, want seq %d of 2026, channel offline", i, r.ReceiptNo, r.Seq, r.Channel, i+1)
			}
		}
		var events []store.Event
		if err := db.NewSelect().Model(&events).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Client != "adm" || events[0].Type != "bill.paid" || !strings.Contains(events[0].Payload, `"channel":"offline"`) {
			t.Errorf("events = %+v, want one bill.paid callback to adm naming the offline payment", events)
		}
		var cols []store.OfflineCollection
		if err := db.NewSelect().Model(&cols).OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(cols) != 6 || cols[0].Method != "cash" || cols[0].Reference != "XJ-0001" || cols[0].Note != "柜台收取" ||
			cols[0].ImportJobID == nil || *cols[0].ImportJobID != job.ID || cols[0].CreatedBy != "finance" {
			t.Errorf("offline collections = %+v", cols)
		}
		applied, _ := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ?", "payment.applied").Where("actor = ?", "finance").Count(ctx)
		imported, _ := db.NewSelect().Model((*store.AuditLog)(nil)).Where("action = ?", "offline.imported").Count(ctx)
		if applied != 6 || imported != 1 {
			t.Errorf("audit: %d payment.applied and %d offline.imported, want 6 and 1", applied, imported)
		}

		// The same file again: refused whole, every row named, nothing changes.
		before := offlineCounts(t, db)
		job, bad = f.importOffline(t, file)
		if job.Status != store.ImportFailed || len(bad) != 6 {
			t.Fatalf("second import = %s with %d bad rows, want failed with all 6", job.Status, len(bad))
		}
		for _, r := range bad {
			if !strings.Contains(r.Message, "已导入过") {
				t.Errorf("line %d: %q, want it to say the reference was imported", r.Line, r.Message)
			}
		}
		if after := offlineCounts(t, db); !mapsEqual(before, after) {
			t.Errorf("a refused import changed the tables: %v → %v", before, after)
		}
		rows, tot, err := f.Reports.OfflineCollections(ctx, reports.OfflineFilter{Method: "cash"}, 0, 20)
		if err != nil || tot.Count != 3 || tot.AmountFen != 160000 || len(rows) != 3 || rows[0].ItemCode == "" {
			t.Errorf("cash collections = %d rows, %+v, %v; want 3 totalling 160000", len(rows), tot, err)
		}
	})
}

func TestOfflineImportAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newOfflineFixture(t, db)
		if job, bad := f.importOffline(t, offlineHeader+"现金,,,D2,1200.00,2026-11-20,XJ-OLD,\n"); job.Status != store.ImportDone {
			t.Fatalf("setup import = %s %v", job.Status, bad)
		}
		held := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID}) // B3 is being paid online
		_ = held
		before := offlineCounts(t, db)
		file := offlineHeader +
			"现金,,,B1,100.00,2026-11-26,XJ-0101,\n" + // 2: fine on its own
			"支票,,,B1,100.00,2026-11-26,XJ-0102,\n" + // 3
			"现金,,,NOPE,100.00,2026-11-26,XJ-0103,\n" + // 4
			"现金,,,B2,1200.01,2026-11-26,XJ-0104,\n" + // 5
			"POS,,,B2,10.00,2026-11-26,P-1,\n" + // 6: fine on its own
			"POS,,,B2,10.00,2026-11-26,P-1,\n" + // 7
			"现金,,,B1,10.00,2026-11-26,XJ-OLD,\n" + // 8
			"现金,,,B1,10.00,2026-11-28,XJ-0105,\n" + // 9
			"现金,,,B1,0,2026-11-26,XJ-0106,\n" + // 10
			"现金,20260001,TUITION-2026,,10.00,2026-11-26,XJ-0107,\n" + // 11
			"现金,,,D1,600.00,2026-11-26,XJ-0108,\n" + // 12
			"现金,,,C1,800.00,2026-11-20,XJ-0109,\n" + // 13
			"现金,,,B3,80.00,2026-11-26,XJ-0110,\n" + // 14
			"现金,,,D2,1200.00,2026-11-26,XJ-0111,\n" + // 15
			"现金,,,B1,10.00,2026-11-26,,\n" + // 16
			"现金,,,B1,10.00,2026/13/45,XJ-0112,\n" + // 17
			"代扣,,,B1,450.00,2026-11-26,DK-1,\n" // 18: with line 2, more than B1 owes
		job, bad := f.importOffline(t, file)
		if job.Status != store.ImportFailed {
			t.Fatalf("import = %s, want failed", job.Status)
		}
		want := map[int]string{
			3: "收款方式「支票」无效", 4: "账单号 NOPE 不存在", 5: "超过账单待缴金额 ¥1,200.00", 7: "与第 6 行重复",
			8: "已导入过", 9: "晚于今天", 10: "金额须大于 0", 11: "有多笔待缴账单", 12: "须一次缴清 ¥1,200.00",
			13: "截止缴费时间", 14: "正在线上支付中", 15: "账单已缴清", 16: "请填写凭证号", 17: "格式不正确",
			18: "超过账单待缴金额 ¥400.00",
		}
		got := map[int]string{}
		for _, r := range bad {
			got[r.Line] = r.Message
		}
		for line, text := range want {
			if !strings.Contains(got[line], text) {
				t.Errorf("line %d: %q, want it to contain %q", line, got[line], text)
			}
		}
		if len(bad) != len(want) || job.ErrorCount != len(want) {
			t.Errorf("bad rows = %v (count %d), want exactly lines %v", got, job.ErrorCount, want)
		}
		if !strings.Contains(job.Message, "未导入任何数据") {
			t.Errorf("message = %q", job.Message)
		}
		if after := offlineCounts(t, db); !mapsEqual(before, after) {
			t.Errorf("a refused import changed the tables: %v → %v", before, after)
		}
		for _, b := range f.Bills {
			if got := f.Bill(t, b.ID); got.AmountPaidFen != 0 {
				t.Errorf("bill %s paid %d after a refused import", got.BillNo, got.AmountPaidFen)
			}
		}

		// The offline channel is not one payers can choose.
		if _, err := f.Svc.ChannelForNewPayment(ctx, "offline"); err == nil {
			t.Error(`Channel("offline") = nil error, want it refused`)
		}
		if _, err := f.Svc.CreateOrder(ctx, billing.OrderRequest{PayerID: f.Payer.ID, Channel: "offline",
			Lines: []billing.LineRequest{{BillID: f.Bills[0].ID}}}); err == nil {
			t.Error("CreateOrder on channel offline accepted, want refused")
		}
	})
}

func TestOfflineImportRejectsFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newOfflineFixture(t, db)
		for _, tt := range []struct{ name, file, want string }{
			{"no reference column", "方式,账单号,金额,收款日期\n现金,B1,1,2026-11-26\n", "缺少列：凭证号/参考号"},
			{"no bill column", "方式,金额,收款日期,凭证号\n现金,1,2026-11-26,X\n", "缺少列：账单号"},
			{"header only", offlineHeader, "没有数据行"},
		} {
			job, _ := f.importOffline(t, tt.file)
			if job.Status != store.ImportFailed || !strings.Contains(job.Message, tt.want) {
				t.Errorf("%s: %s %q, want failed saying %q", tt.name, job.Status, job.Message, tt.want)
			}
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Money collected offline cannot be refunded through a channel: the request is refused
// with a reason, instead of waiting for ever for a channel that does not exist.
func TestOfflinePaymentIsNotRefundedThroughAChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		q, err := f.Svc.RefundQuote(ctx, f.Bills[2].ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Closed == "" {
			t.Fatalf("an unpaid bill has a refund quote without a reason")
		}
		// Pay the bill offline: an order and payment of channel offline, as the import does.
		order := &store.Order{OrderNo: "F20261127000000000001", PayerID: &f.Payer.ID, PayerName: f.Payer.Name, Channel: billing.ChannelOffline,
			TotalFen: 8000, Status: store.OrderPaid, ExpiresAt: f.Clock.Now(), CreatedAt: f.Clock.Now(), UpdatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, order)
		billingtest.Insert(t, db, &store.OrderLine{OrderID: order.ID, BillID: f.Bills[2].ID, AmountFen: 8000})
		pay := &store.Payment{OrderID: order.ID, Channel: billing.ChannelOffline, TradeNo: "cash:A-1", AmountFen: 8000, CreditedFen: 8000, PaidAt: f.Clock.Now(), CreatedAt: f.Clock.Now()}
		billingtest.Insert(t, db, pay)
		billingtest.Insert(t, db, &store.Receipt{ReceiptNo: "202600000099", Year: 2026, Seq: 99, BillID: f.Bills[2].ID, OrderID: order.ID, PaymentID: pay.ID,
			PayerName: f.Payer.Name, ItemName: f.Item.Name, Department: "财务处", AmountFen: 8000, Channel: billing.ChannelOffline, VerifyToken: "offlinetokenoffline00000", IssuedAt: f.Clock.Now()})
		db.NewUpdate().Model((*store.Bill)(nil)).Set("amount_paid_fen = 8000, status = 'paid'").Where("id = ?", f.Bills[2].ID).Exec(ctx)
		q, err = f.Svc.RefundQuote(ctx, f.Bills[2].ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q.Closed, "线下") {
			t.Errorf("quote for an offline payment: Closed = %q, want it to say it is refunded offline", q.Closed)
		}
		_, err = f.Svc.RequestRefund(ctx, billing.RefundRequest{BillID: f.Bills[2].ID, AmountFen: 8000, Reason: "退学", Actor: "finance"})
		if err == nil {
			t.Error("a refund of an offline payment was accepted")
		}
		if n, _ := db.NewSelect().Table("refunds").Count(ctx); n != 0 {
			t.Errorf("refunds = %d, want 0", n)
		}
	})
}
