package cashier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// TestBrowserPhonePaysWithAlipay walks a payer on a phone through Alipay (the demo's fake):
// the phone is offered Alipay's phone way, is sent straight to Alipay's page, pays there,
// and comes back to the order, paid.
func TestBrowserPhonePaysWithAlipay(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := newBrowser(t, chromium, p.URL)
		signIn(b)

		exam := withText(".bill", "考试费")
		b.tap("tick the exam fee", within(exam, "input.bill-check"))
		b.waitFor("total", stepTimeout, withText("#total .paybar-amount", "¥30.00"))
		alipay := withText("label.channel", "支付宝（演示）")
		b.tap("choose 支付宝（演示）", alipay)
		if way := eval[string](b, "chosen way", `document.querySelector("input[name=channel]:checked")?.dataset.way ?? ""`); way != string(channel.WayAliWAP) {
			b.fail("choose 支付宝（演示）", fmt.Errorf("checked way %q, want %s on a phone", way, channel.WayAliWAP))
		}
		b.screenshot("bills-alipay")

		// Straight to Alipay's page: no QR code for a phone to scan on itself.
		b.tap("去支付", withText(".paybar button", "去支付"))
		b.waitURL("Alipay's page", "/sim/alipay/pay/")
		confirm := withText("button", "确认支付")
		b.waitFor("Alipay's page", stepTimeout, confirm)
		if got := b.text("Alipay's page", css("body")); !strings.Contains(got, "¥30.00") {
			b.fail("Alipay's page", fmt.Errorf("page %q, want ¥30.00", got))
		}
		b.screenshot("alipay")

		// Paying sends the payer back through /pay/return/{order} to the order, paid.
		b.tap("确认支付", confirm)
		b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))
		orderURL := b.waitURL("paid order", "/pay/orders/")
		orderNo := strings.TrimPrefix(orderURL.Path, "/pay/orders/")
		if !b.requested("/pay/return/" + orderNo) {
			b.fail("paid order", fmt.Errorf("Alipay did not send the payer back through /pay/return/%s", orderNo))
		}
		if got := b.text("payment channel", withText(".kv dd", "支付宝")); got != "支付宝（演示）" {
			b.fail("paid order", fmt.Errorf("支付方式 %q, want 支付宝（演示）", got))
		}
		b.screenshot("paid")

		o, err := p.Billing.Order(ctx, orderNo)
		if err != nil || o.Status != store.OrderPaid || o.Channel != "alipay" {
			t.Fatalf("order %s: %v (%v), want paid by alipay", orderNo, o, err)
		}
		if bills := payerBills(t, p, studentLogin); bills["CET-2026-12"] != store.BillPaid {
			t.Errorf("exam fee status = %s, want paid", bills["CET-2026-12"])
		}
	})
}
