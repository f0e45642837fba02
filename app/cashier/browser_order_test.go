package cashier_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// tableFits fails the step when a table of the page is wider than the box it scrolls in, or
// that box wider than its card: on a phone nothing may be cut off or scroll sideways unseen.
func tableFits(b *browser, step string) {
	b.t.Helper()
	problems := eval[[]string](b, step, `(() => {
		const out = [];
		document.querySelectorAll("table").forEach((t, i) => {
			const wrap = t.closest(".table-wrap"), card = t.closest(".card");
			if (wrap && wrap.scrollWidth > wrap.clientWidth) out.push("table " + i + " is " + wrap.scrollWidth + " px in a " + wrap.clientWidth + " px box");
			if (card) {
				const c = card.getBoundingClientRect(), r = t.getBoundingClientRect(), pad = parseFloat(getComputedStyle(card).paddingRight);
				if (r.right > c.right - pad + 0.5) out.push("table " + i + " overflows its card by " + (r.right - c.right + pad).toFixed(1) + " px");
			}
			t.querySelectorAll(".num").forEach(n => { if (n.scrollWidth > n.clientWidth) out.push("amount cell " + JSON.stringify(n.textContent) + " clipped"); });
		});
		if (document.documentElement.scrollWidth > window.innerWidth) out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " px");
		return out;
	})()`)
	if len(problems) > 0 {
		b.fail(step, fmt.Errorf("%s", strings.Join(problems, "; ")))
	}
}

// waitTrue waits until the expression is true in the page, asking again while a
// navigation swaps the document (an evaluation then fails).
func waitTrue(b *browser, step, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			b.fail(step, fmt.Errorf("%s is not true: %w", expr, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestBrowserOpenOrderContinueSwitchCancel walks issue 12's stuck payer: the exam fee
// goes into a campus card order, the password is wrong, the payer goes back to /pay. The
// open order is there: they switch it to online payment (a new order, the card order
// closed), come back, and cancel it, and the exam fee can be ticked again at once. The
// history shows both closed orders.
func TestBrowserOpenOrderContinueSwitchCancel(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := newBrowser(t, chromium, p.URL)
		signIn(b)

		exam := withText(".bill", "考试费")
		b.tap("tick the exam fee", within(exam, "input.bill-check"))
		b.waitFor("total", stepTimeout, withText("#total .paybar-amount", "¥30.00"))
		b.tap("choose 校园卡", withText("label.channel", "校园卡"))
		b.tap("去支付", withText(".paybar button", "去支付"))
		cardOrder := strings.TrimPrefix(b.waitURL("card order page", "/pay/orders/").Path, "/pay/orders/")
		tableFits(b, "card order table on a phone")
		b.do("type a wrong password", stepTimeout, chromedp.SendKeys(css("#card-password"), "000000"))
		b.tap("确认支付 (wrong password)", withText("#order-status button", "确认支付"))
		b.waitFor("error message", stepTimeout, css("#card-error .alert"))
		if got := b.text("pay another way", css("#order-status .order-actions")); !strings.Contains(got, "改用在线支付（模拟）") || !strings.Contains(got, "取消订单") {
			b.fail("order page actions", fmt.Errorf("actions %q, want 改用在线支付（模拟） and 取消订单", got))
		}
		b.screenshot("card-order-wrong-password")

		// Back on /pay: the open order, with its bill, and what can be done with it.
		b.tap("返回待缴费用", withText("a.back-link", "返回待缴费用"))
		b.waitURL("bills page", "/pay")
		open := css(".open-order")
		b.waitFor("open order on /pay", stepTimeout, open)
		if got := b.text("open order", open); !strings.Contains(got, "考试费") || !strings.Contains(got, "¥30.00") || !strings.Contains(got, "校园卡") {
			b.fail("open order on /pay", fmt.Errorf("card says %q, want the exam fee, ¥30.00, 校园卡", got))
		}
		for _, action := range []string{"继续支付", "改用在线支付（模拟）", "取消订单"} {
			b.waitFor("open order action "+action, stepTimeout, withText(".open-order .order-actions a, .open-order .order-actions button", action))
		}
		if !eval[bool](b, "exam fee held", string(within(exam, "input.bill-check"))+`.disabled`) {
			b.fail("exam fee held", fmt.Errorf("the exam fee can be ticked while its order is open"))
		}
		if n := eval[int](b, "top bar links", `[...document.querySelectorAll("a")].filter(a => a.textContent.trim() === "缴费记录").length`); n != 1 {
			b.fail("缴费记录 links", fmt.Errorf("%d links 缴费记录 on /pay, want 1", n))
		}
		b.screenshot("pay-with-open-order")

		// Continue goes back to the same order.
		b.tap("继续支付", withText(".open-order a", "继续支付"))
		if u := b.waitURL("continue", "/pay/orders/"); u.Path != "/pay/orders/"+cardOrder {
			b.fail("continue", fmt.Errorf("continued to %s, want the card order %s", u.Path, cardOrder))
		}
		b.tap("back to /pay", withText("a.back-link", "返回待缴费用"))
		b.waitFor("open order again", stepTimeout, open)

		// Switch to online payment: a new order on the sandbox, the card order closed.
		b.tap("改用在线支付（模拟）", withText(".open-order button", "改用在线支付（模拟）"))
		u := b.waitURL("switched order", "/pay/orders/")
		onlineOrder := strings.TrimPrefix(u.Path, "/pay/orders/")
		if onlineOrder == cardOrder {
			b.fail("switched order", fmt.Errorf("still on the card order %s", cardOrder))
		}
		b.waitFor("online payment link", stepTimeout, withText("#order-status a", "前往支付"))
		b.screenshot("switched-to-online")
		if o, err := p.Billing.Order(ctx, cardOrder); err != nil || o.Status != store.OrderClosed {
			t.Errorf("card order after the switch: %v %v, want closed", o.Status, err)
		}

		// Cancel it from /pay: the trade closed at the payment company, the fee free at once.
		b.open("open /pay", "/pay")
		b.waitFor("switched open order", stepTimeout, withText(".open-order", "在线支付（模拟）"))
		b.tap("取消订单", withText(".open-order button", "取消订单"))
		// The cancel answers with /pay again: wait for the page without the open order.
		waitTrue(b, "bills after cancel: the page without the open order",
			`document.readyState === "complete" && !!document.querySelector(".bills") && !document.querySelector(".open-order")`)
		b.waitURL("bills after cancel", "/pay")
		b.tap("tick the exam fee again", within(exam, "input.bill-check"))
		b.waitFor("total after cancel", stepTimeout, withText("#total .paybar-amount", "¥30.00"))
		b.screenshot("pay-after-cancel")
		trade, err := p.Billing.Channels["sandbox"].Query(ctx, onlineOrder)
		if err != nil || trade.Status != channel.TradeClosed {
			t.Errorf("sandbox trade of the cancelled order: %q %v, want closed", trade.Status, err)
		}
		if o, err := p.Billing.Order(ctx, onlineOrder); err != nil || o.Status != store.OrderClosed || o.Lines[0].Bill.HeldByOrderID != nil {
			t.Errorf("cancelled order %v (%v), want closed with its bill released", o.Status, err)
		}

		// The history shows both orders, closed, and says what can be done.
		b.tap("缴费记录", withText(".tabs a", "缴费记录"))
		b.waitURL("history", "/pay/history")
		for _, no := range []string{cardOrder, onlineOrder} {
			card := css("#order-" + no)
			if got := b.text("history "+no, card); !strings.Contains(got, "已关闭") || !strings.Contains(got, "考试费") || !strings.Contains(got, "重新选择") {
				b.fail("history", fmt.Errorf("order %s shows %q, want 已关闭, the exam fee and 重新选择", no, got))
			}
		}
		b.screenshot("history")
	})
}

// TestBrowserDonationTableFitsAndReceiptVerifies: an alumnus gives ¥100 to 教育发展基金会 on
// a phone. The order page's table fits its card (the amount column was cut off), the
// /lookup result too, and the receipt can be verified from the phone that shows it: a 验真
// link to the verification page, whose address is also in the QR code's alt text.
func TestBrowserDonationTableFitsAndReceiptVerifies(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		b.open("donation form", "/i/DONATE-2026")
		b.waitFor("donation form", stepTimeout, css("#name"))
		b.do("fill the form", stepTimeout,
			chromedp.SendKeys(css("#name"), "王校友"),
			chromedp.SendKeys(css("#phone"), "13800000000"),
			chromedp.SendKeys(css("#amount"), "100"))
		b.tap("去支付", withText("form button[type=submit]", "去支付"))
		orderNo := strings.TrimPrefix(b.waitURL("order page", "/pay/orders/").Path, "/pay/orders/")
		b.waitFor("order table", stepTimeout, withText("td", "教育发展基金会"))
		tableFits(b, "donation order table on a phone")
		if got := b.text("amount cell", css("td.num")); got != "¥100.00" {
			b.fail("amount cell", fmt.Errorf("%q, want ¥100.00", got))
		}
		b.screenshot("donation-order")

		b.tap("前往支付", withText("#order-status a", "前往支付"))
		b.waitURL("sandbox page", "/sim/sandbox/pay/")
		b.tap("确认支付", withText("button", "确认支付"))
		b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))

		// The lookup result, as a payer without an account finds it later.
		b.open("lookup", "/lookup")
		b.do("fill the lookup", stepTimeout, chromedp.SendKeys(css("#order_no"), orderNo), chromedp.SendKeys(css("#phone"), "13800000000"))
		b.tap("查询", withText("button[type=submit]", "查询"))
		b.waitURL("lookup result", "/pay/orders/"+orderNo)
		b.waitFor("lookup result", stepTimeout, withText(".result-title", "支付成功"))
		tableFits(b, "lookup result table on a phone")
		b.screenshot("lookup-result")

		// The receipt: the 验真 link opens the verification page the QR code holds.
		b.tap("查看票据", withText("#order-status a", "查看票据"))
		b.waitURL("receipt", "/pay/receipts/")
		link := withText("a", "验真")
		b.waitFor("验真 link", stepTimeout, link)
		href := eval[string](b, "验真 target", string(link)+`.href`)
		target, err := url.Parse(href)
		if err != nil || target.Scheme+"://"+target.Host != p.URL || !strings.HasPrefix(target.Path, "/r/") || len(target.Path) <= len("/r/") {
			b.fail("验真 link", fmt.Errorf("href %q, want %s/r/<token>", href, p.URL))
		}
		if alt := eval[string](b, "QR alt text", `document.querySelector("img.receipt-qr").alt`); !strings.Contains(alt, href) {
			b.fail("QR alt text", fmt.Errorf("alt %q does not hold the address %s", alt, href))
		}
		b.waitImages("receipt QR code")
		b.screenshot("receipt")
		b.tap("验真", link)
		b.waitURL("verification page", target.Path)
		if got := b.text("verification", css(".result-title")); got != "票据真实有效" {
			b.fail("verification page", fmt.Errorf("says %q, want 票据真实有效", got))
		}
		b.screenshot("verified")
	})
}
