package cashier_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// The 支付成功 block of a just-paid order shows its receipts' numbers, and each opens its
// receipt page. The payment lands on another instance (a billing service of its own), and
// its receipts are made unnumbered again afterwards, as if no numberer had run yet: the
// status fragment must ask for the numbers and wait for them, not show a receipt without.
func TestPaidBlockShowsTheNumbersOfAJustPaidOrder(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		orderNo := createOrder(t, b, "sandbox", ids["DORM-2026"], ids["CET-2026-12"])
		o, err := p.Billing.Order(ctx, orderNo)
		if err != nil {
			t.Fatal(err)
		}

		other := &billing.Service{DB: p.DB, Settings: p.Billing.Settings, Channels: p.Billing.Channels, Merchants: p.Billing.Merchants}
		out, err := other.ApplyTrade(ctx, "sandbox", channel.Trade{OrderNo: o.OrderNo, TradeNo: "SB-" + o.OrderNo,
			AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: time.Now()})
		if err != nil || out.Receipts != 2 {
			t.Fatalf("ApplyTrade = %+v, %v", out, err)
		}
		if err := other.NumberReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		var before []store.Receipt
		if err := p.DB.NewSelect().Model(&before).Where("order_id = ?", o.ID).OrderExpr("id").Scan(ctx); err != nil || len(before) != 2 {
			t.Fatalf("receipts = %v, %v", before, err)
		}
		// Unnumbered again, the sequence with them: the next numbering gives the same numbers.
		p.DB.NewUpdate().Model((*store.Receipt)(nil)).Set("seq = NULL").Set("receipt_no = NULL").Where("order_id = ?", o.ID).Exec(ctx)
		p.DB.NewUpdate().Model((*store.ReceiptSequence)(nil)).Set("last_no = last_no - 2").Where("year = ?", before[0].Year).Exec(ctx)

		_, frag, _ := b.Do("GET", "/pay/orders/"+orderNo+"/status", nil, true)
		if !strings.Contains(frag, "支付成功") || strings.Contains(frag, "编号中") {
			t.Fatalf("status fragment after payment:\n%s", frag)
		}
		shown := regexp.MustCompile(`href="/pay/receipts/(\d+)"`).FindAllStringSubmatch(frag, -1)
		if len(shown) != 2 || shown[0][1] != before[0].ReceiptNo || shown[1][1] != before[1].ReceiptNo {
			t.Fatalf("fragment shows receipts %v, want %s and %s", shown, before[0].ReceiptNo, before[1].ReceiptNo)
		}
		if !strings.Contains(frag, "No. "+before[0].ReceiptNo) {
			t.Errorf("fragment lacks No. %s", before[0].ReceiptNo)
		}
		_, page := b.Get("/pay/receipts/" + shown[0][1])
		if !strings.Contains(page, "No. "+shown[0][1]) {
			t.Errorf("receipt page lacks its number %s", shown[0][1])
		}
		// The full order page (what a reload shows) has them too.
		_, orderPage := b.Get("/pay/orders/" + orderNo)
		if !strings.Contains(orderPage, "/pay/receipts/"+before[1].ReceiptNo) {
			t.Errorf("order page lacks receipt %s", before[1].ReceiptNo)
		}
	})
}
