package cashier_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// The devices of these journeys. The cashier tells where the payer is by the user agent
// alone (channel.PlaceOf); the screen is the device's.
var (
	wechatPhone = withUA(phone(), "WeChat on Android", uaWeChatAndroid)
	safariPhone = withUA(phone(), "iPhone Safari", uaIPhoneSafari)
	// desktop is a PC's window. Touch stays on so that the journey's taps (chromedp.Tap)
	// reach the page; nothing of the cashier depends on it.
	desktop = device.Info{Name: "desktop Chrome", UserAgent: uaDesktopChrome, Width: 1280, Height: 800, Scale: 1, Touch: true}
)

func withUA(d device.Info, name, ua string) device.Info {
	d.Name, d.UserAgent = name, ua
	return d
}

// emulate makes the tab the device: its user agent (emulation.SetUserAgentOverride, sent
// with every request from then on) and its screen.
func (b *browser) emulate(d device.Info) {
	b.t.Helper()
	b.do("emulate "+d.Name, stepTimeout, chromedp.Emulate(d))
}

// tickExamFee signs in, ticks the exam fee (¥30.00) and chooses the channel labelled label,
// which must be offered by way alone here. It returns what the page offered, per channel.
func tickExamFee(b *browser, label string, way channel.Way) map[string][]channel.Way {
	b.t.Helper()
	signIn(b)
	exam := withText(".bill", "考试费")
	b.tap("tick the exam fee", within(exam, "input.bill-check"))
	b.waitFor("total", stepTimeout, withText("#total .paybar-amount", "¥30.00"))
	offers, _ := offered(b.t, eval[string](b, "the page", `document.documentElement.outerHTML`))
	b.tap("choose "+label, withText("label.channel", label))
	if got := eval[string](b, "chosen way", `document.querySelector("input[name=channel]:checked")?.dataset.way ?? ""`); got != string(way) {
		b.fail("choose "+label, fmt.Errorf("checked way %q, want %s (offered: %v)", got, way, offers))
	}
	return offers
}

// paidOrder waits until the tab shows the order paid through WeChat Pay, reached at the
// end through /pay/return/{order} when returned, and checks the database: the order paid
// by wechatpay through way, the exam fee paid. It returns the order number.
func paidOrder(b *browser, p *servertest.Platform, way channel.Way, returned bool) string {
	b.t.Helper()
	b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))
	orderNo := strings.TrimPrefix(b.waitURL("paid order", "/pay/orders/").Path, "/pay/orders/")
	if returned && !b.requested("/pay/return/"+orderNo) {
		b.fail("paid order", fmt.Errorf("WeChat Pay did not send the payer back through /pay/return/%s", orderNo))
	}
	if got := b.text("payment channel", withText(".kv dd", "微信支付")); got != "微信支付（演示）" {
		b.fail("paid order", fmt.Errorf("支付方式 %q, want 微信支付（演示）", got))
	}
	b.screenshot("paid")

	t, ctx := b.t, context.Background()
	o, err := p.Billing.Order(ctx, orderNo)
	if err != nil || o.Status != store.OrderPaid || o.Channel != "wechatpay" || o.TotalFen != 3000 {
		t.Fatalf("order %s: %+v (%v), want 3000 fen paid by wechatpay", orderNo, o, err)
	}
	attempts, err := p.Billing.Attempts(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(attempts, func(a *store.PaymentAttempt) bool { return a.Status == store.AttemptPaid })
	if i < 0 || attempts[i].Way != string(way) {
		t.Errorf("attempts of order %s: %v, want one paid by %s", orderNo, attempts, way)
	}
	if bills := payerBills(t, p, studentLogin); bills["CET-2026-12"] != store.BillPaid {
		t.Errorf("exam fee status = %s, want paid", bills["CET-2026-12"])
	}
	return orderNo
}

// TestBrowserWeChatPaysInsideWeChat walks a payer inside WeChat: only WeChat's own sheet
// (JSAPI) is offered of WeChat Pay, and no Alipay; paying asks WeChat who the payer is
// (OAuth, which the fake answers at once), and the page that opens the sheet follows. The
// demo has no WeixinJSBridge: that page links to the fake's sheet, where the payer pays
// and comes back to the order, paid.
func TestBrowserWeChatPaysInsideWeChat(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		b.emulate(wechatPhone)
		offers := tickExamFee(b, "微信支付（演示）", channel.WayWxJSAPI)
		if got := offers["wechatpay"]; !slices.Equal(got, []channel.Way{channel.WayWxJSAPI}) {
			b.fail("bills page", fmt.Errorf("WeChat Pay offered by %v inside WeChat, want only %s", got, channel.WayWxJSAPI))
		}
		for name, ways := range offers {
			if here := channel.WaysAt(channel.PlaceWeChat, ways); !slices.Equal(here, ways) {
				b.fail("bills page", fmt.Errorf("%s offered by %v inside WeChat, where only %v of them work", name, ways, here))
			}
		}
		if _, ok := offers["alipay"]; ok {
			b.fail("bills page", fmt.Errorf("Alipay offered inside WeChat: %v", offers))
		}
		b.screenshot("bills-wechat")

		// 去支付: to WeChat's authorisation, straight back with a code, and the sheet's page.
		b.tap("去支付", withText(".paybar button", "去支付"))
		b.waitURL("the sheet's page", "/pay/oauth/wechatpay")
		demoSheet := withText("#wxpay a", "在演示支付页完成支付")
		b.waitFor("the sheet's page", stepTimeout, demoSheet)
		if !b.requested("/sim/wechatpay/connect/oauth2/authorize") {
			b.fail("the sheet's page", fmt.Errorf("the payer did not go through WeChat's authorisation"))
		}
		if got := b.text("the sheet's page", css("#wxpay .amount")); got != "¥30.00" {
			b.fail("the sheet's page", fmt.Errorf("amount %q, want ¥30.00", got))
		}
		orderPath := eval[string](b, "the order", `document.getElementById("wxpay").dataset.done`)
		b.screenshot("sheet-page")

		// The fake's sheet checks paySign and the appId against the trade before it offers to pay.
		b.tap("在演示支付页完成支付", demoSheet)
		sheet := b.waitURL("the fake's sheet", "/sim/wechatpay/jsapi")
		if back := sheet.Query().Get("return"); back != p.URL+"/pay/return/"+strings.TrimPrefix(orderPath, "/pay/orders/") {
			b.fail("the fake's sheet", fmt.Errorf("return %q, want %s/pay/return/ of the order %s", back, p.URL, orderPath))
		}
		confirm := withText("button", "确认支付")
		b.waitFor("the fake's sheet", stepTimeout, confirm)
		if got := b.text("the fake's sheet", css("body")); !strings.Contains(got, "¥30.00") {
			b.fail("the fake's sheet", fmt.Errorf("page %q, want ¥30.00", got))
		}
		b.screenshot("sheet")

		b.tap("确认支付", confirm)
		if orderNo := paidOrder(b, p, channel.WayWxJSAPI, true); "/pay/orders/"+orderNo != orderPath {
			t.Errorf("paid order %s, want %s", orderNo, orderPath)
		}
	})
}

// TestBrowserPhonePaysWithWeChatH5 walks a payer in a phone's own browser: WeChat Pay is
// offered by its H5 way, which sends the payer to WeChat's page (the fake's) and back to
// the order, paid.
func TestBrowserPhonePaysWithWeChatH5(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		b.emulate(safariPhone)
		if got := tickExamFee(b, "微信支付（演示）", channel.WayWxH5)["wechatpay"]; !slices.Equal(got, []channel.Way{channel.WayWxH5}) {
			b.fail("bills page", fmt.Errorf("WeChat Pay offered by %v on a phone, want only %s", got, channel.WayWxH5))
		}
		b.screenshot("bills-wechat")

		b.tap("去支付", withText(".paybar button", "去支付"))
		h5 := b.waitURL("WeChat's H5 page", "/sim/wechatpay/checkmweb")
		if back := h5.Query().Get("redirect_url"); !strings.HasPrefix(back, p.URL+"/pay/return/") {
			b.fail("WeChat's H5 page", fmt.Errorf("redirect_url %q, want %s/pay/return/…", back, p.URL))
		}
		confirm := withText("button", "确认支付")
		b.waitFor("WeChat's H5 page", stepTimeout, confirm)
		if got := b.text("WeChat's H5 page", css("body")); !strings.Contains(got, "¥30.00") {
			b.fail("WeChat's H5 page", fmt.Errorf("page %q, want ¥30.00", got))
		}
		b.screenshot("h5")

		b.tap("确认支付", confirm)
		paidOrder(b, p, channel.WayWxH5, true)
	})
}

// TestBrowserPCPaysWithWeChatQR walks a payer at a PC: WeChat Pay shows a QR code (Native);
// a phone scans it and pays on the page it opens (the fake's), and the PC's order page,
// which polls, turns paid by itself.
func TestBrowserPCPaysWithWeChatQR(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		b.emulate(desktop)
		if got := tickExamFee(b, "微信支付（演示）", channel.WayWxNative)["wechatpay"]; !slices.Equal(got, []channel.Way{channel.WayWxNative}) {
			b.fail("bills page", fmt.Errorf("WeChat Pay offered by %v on a PC, want only %s", got, channel.WayWxNative))
		}

		b.tap("去支付", withText(".paybar button", "去支付"))
		orderURL := b.waitURL("order page", "/pay/orders/")
		orderNo := strings.TrimPrefix(orderURL.Path, "/pay/orders/")
		b.waitFor("order page", stepTimeout, css("#order-status img.qr-code"))
		b.waitImages("order page QR code")
		if ok := eval[bool](b, "QR code", `document.querySelector("#order-status img.qr-code").naturalWidth > 0`); !ok {
			b.fail("order page", fmt.Errorf("the QR code did not load"))
		}
		if got := b.text("order page", css("#order-status .qr-caption")); !strings.Contains(got, "请使用手机扫描二维码") {
			b.fail("order page", fmt.Errorf("caption %q, want 请使用手机扫描二维码…", got))
		}
		b.screenshot("order-qr")

		// What the code encodes (qr.png draws the order's pay URL): WeChat's code_url, which
		// the fake makes its own "scan and pay" page.
		o, err := p.Billing.Order(context.Background(), orderNo)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.PayURL, p.URL+"/sim/wechatpay/pay/") {
			t.Fatalf("order %s pays at %q, want the fake's code_url %s/sim/wechatpay/pay/…", orderNo, o.PayURL, p.URL)
		}
		b.mu.Lock()
		documents := len(b.visited)
		b.mu.Unlock()
		scanAndPay(t, o.PayURL)

		// The PC's page turns paid by polling, without reloading.
		paidOrder(b, p, channel.WayWxNative, false)
		if u := b.waitURL("paid order", "/pay/orders/"); u.Path != orderURL.Path {
			b.fail("paid order", fmt.Errorf("on %s, want %s", u.Path, orderURL.Path))
		}
		b.mu.Lock()
		reloaded := b.visited[documents:]
		b.mu.Unlock()
		if len(reloaded) > 0 {
			b.fail("paid order", fmt.Errorf("the order page was loaded again (%v), want it to turn paid by polling", reloaded))
		}
	})
}

// scanAndPay is the payer's phone: it opens the page a Native code encodes (the fake's) and
// presses 确认支付 there.
func scanAndPay(t *testing.T, codeURL string) {
	t.Helper()
	client := &http.Client{Timeout: stepTimeout}
	get := func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatalf("phone: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("phone: %v", err)
		}
		return resp.StatusCode, string(body)
	}
	code, page := get(client.Get(codeURL))
	if code != http.StatusOK || !strings.Contains(page, "确认支付") || !strings.Contains(page, "¥30.00") {
		t.Fatalf("phone: scanned page %s: status %d, want it to offer to pay ¥30.00\n%s", codeURL, code, page)
	}
	action, fields := postedForm(t, codeURL, page, false)
	if code, page = get(client.PostForm(action, fields)); code != http.StatusOK || !strings.Contains(page, "支付成功") {
		t.Fatalf("phone: 确认支付: status %d, want 支付成功\n%s", code, page)
	}
}

// TestBrowserPhonePaysWithUnionPay walks a payer on a phone through UnionPay's phone way:
// the cashier's page posts the signed form to UnionPay (the fake) by itself, the payer
// pays there and goes back to the order, paid.
func TestBrowserPhonePaysWithUnionPay(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		b.emulate(safariPhone)
		label := "银联在线支付（演示）"
		tickExamFee(b, label, channel.WayUpWAP)

		// The form page posts at once (static/js/pay.js): no tap on 前往支付.
		b.tap("去支付", withText(".paybar button", "去支付"))
		b.waitURL("UnionPay's page", "/sim/unionpay/gateway/api/frontTransReq.do")
		confirm := withText("button", "确认支付")
		b.waitFor("UnionPay's page", stepTimeout, confirm)
		if got := b.text("UnionPay's page", css(".amount")); got != "¥30.00" {
			b.fail("UnionPay's page", fmt.Errorf("amount %q, want ¥30.00", got))
		}
		b.screenshot("unionpay")

		b.tap("确认支付", confirm)
		back := withText("button", "返回商户")
		b.waitFor("UnionPay's result", stepTimeout, back)
		b.screenshot("unionpay-paid")
		b.tap("返回商户", back)

		b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))
		orderNo := strings.TrimPrefix(b.waitURL("paid order", "/pay/orders/").Path, "/pay/orders/")
		if !b.requested("/pay/return/" + orderNo) {
			b.fail("paid order", fmt.Errorf("UnionPay did not send the payer back through /pay/return/%s", orderNo))
		}
		if got := b.text("payment channel", withText(".kv dd", "银联")); got != label {
			b.fail("paid order", fmt.Errorf("支付方式 %q, want %s", got, label))
		}
		b.screenshot("paid")
		o, err := p.Billing.Order(context.Background(), orderNo)
		if err != nil || o.Status != store.OrderPaid || o.Channel != "unionpay" {
			t.Fatalf("order %s: %+v (%v), want paid by unionpay", orderNo, o, err)
		}
		if bills := payerBills(t, p, studentLogin); bills["CET-2026-12"] != store.BillPaid {
			t.Errorf("exam fee status = %s, want paid", bills["CET-2026-12"])
		}
	})
}
