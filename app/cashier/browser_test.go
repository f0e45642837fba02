package cashier_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"campuspay/app/bizday"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// The demo student these tests pay as (see app/demo).
const (
	studentLogin    = "2026000001"
	studentPassword = "pay123456"
	cardPassword    = "123456"
	cardBalanceFen  = 300000 // every demo card starts with ¥3,000.00
)

// TestBrowserPayerPaysTwoBillsThroughSandbox walks the payer's journey on a phone: sign
// in, tick two bills, pay them on the sandbox's hosted page, come back to the paid order
// and open a receipt.
func TestBrowserPayerPaysTwoBillsThroughSandbox(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := newBrowser(t, chromium, p.URL)
		signIn(b)

		// The outstanding bills.
		b.waitFor("bills page", stepTimeout, withText("h1", "待缴费用"))
		if n := eval[int](b, "count bills", `document.querySelectorAll(".bill").length`); n < 3 {
			b.fail("bills page", fmt.Errorf("%d .bill rows, want at least 3", n))
		}
		dorm, exam := withText(".bill", "住宿费"), withText(".bill", "考试费")
		if got := b.text("dormitory fee row", within(dorm, ".bill-due")); got != "¥1,200.00" {
			b.fail("dormitory fee row", fmt.Errorf("amount %q, want ¥1,200.00", got))
		}
		if got := b.text("exam fee row", within(exam, ".bill-due")); got != "¥30.00" {
			b.fail("exam fee row", fmt.Errorf("amount %q, want ¥30.00", got))
		}

		// Tick both; the pay bar's total is swapped in by HTMX after each tick.
		b.tap("tick the dormitory fee", within(dorm, "input.bill-check"))
		b.waitFor("total after one tick", stepTimeout, withText("#total", "¥1,200.00"))
		b.tap("tick the exam fee", within(exam, "input.bill-check"))
		b.waitFor("total after two ticks", stepTimeout, withText("#total .paybar-amount", "¥1,230.00"))
		if got := b.text("pay bar", css("#total .paybar-label")); !strings.Contains(got, "已选 2 项") {
			b.fail("pay bar", fmt.Errorf("label %q, want 已选 2 项", got))
		}
		checked := eval[string](b, "chosen channel", `document.querySelector("input[name=channel]:checked")?.closest("label")?.textContent ?? ""`)
		if !strings.Contains(checked, "在线支付（模拟）") {
			b.fail("chosen channel", fmt.Errorf("checked channel %q, want 在线支付（模拟）", strings.TrimSpace(checked)))
		}
		b.screenshot("bills-two-ticked")

		// The order page offers the phone a direct link to the sandbox's page.
		b.tap("去支付", withText(".paybar button", "去支付"))
		orderURL := b.waitURL("order page", "/pay/orders/")
		orderNo := strings.TrimPrefix(orderURL.Path, "/pay/orders/")
		goPay := withText("#order-status a", "前往支付")
		b.waitFor("order page", stepTimeout, goPay)
		if got := b.text("order amount", css(".qr-amount")); got != "¥1,230.00" {
			b.fail("order page", fmt.Errorf("amount %q, want ¥1,230.00", got))
		}
		b.waitImages("order page QR code")
		b.screenshot("order")

		// The sandbox's hosted page.
		b.tap("前往支付", goPay)
		b.waitURL("sandbox page", "/sim/sandbox/pay/")
		confirm := withText("button", "确认支付")
		b.waitFor("sandbox page", stepTimeout, confirm)
		if got := b.text("sandbox amount", css(".amount")); got != "¥1,230.00" {
			b.fail("sandbox page", fmt.Errorf("amount %q, want ¥1,230.00", got))
		}
		b.screenshot("sandbox")

		// Paying sends the payer back through /pay/return/{order} to the order, which turns paid.
		b.tap("确认支付", confirm)
		b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))
		if u := b.waitURL("paid order", "/pay/orders/"); u.Path != orderURL.Path {
			b.fail("paid order", fmt.Errorf("back on %s, want %s", u.Path, orderURL.Path))
		}
		if !b.requested("/pay/return/" + orderNo) {
			b.fail("paid order", fmt.Errorf("the sandbox did not send the payer back through /pay/return/%s", orderNo))
		}
		if n := eval[int](b, "receipt links", `[...document.querySelectorAll("#order-status a")].filter(a => a.textContent.includes("查看票据")).length`); n != 2 {
			b.fail("paid order", fmt.Errorf("%d 查看票据 links, want 2", n))
		}
		b.screenshot("paid")

		// The first receipt.
		b.tap("查看票据", withText("#order-status a", "查看票据"))
		b.waitURL("receipt page", "/pay/receipts/")
		year := strconv.Itoa(time.Now().In(bizday.Shanghai).Year())
		if got := b.text("receipt number", css(".receipt-no")); !strings.HasPrefix(got, "No. "+year) {
			b.fail("receipt page", fmt.Errorf("receipt number %q, want No. %s…", got, year))
		}
		amount := b.text("receipt amount", css(".receipt-total .num"))
		capitals := b.text("receipt capitals", css(".receipt-capitals"))
		want, ok := map[string]string{"¥1,200.00": "壹仟贰佰元整", "¥30.00": "叁拾元整"}[amount]
		if !ok {
			b.fail("receipt page", fmt.Errorf("amount %q, want ¥1,200.00 or ¥30.00", amount))
		}
		if capitals != want {
			b.fail("receipt page", fmt.Errorf("capitals of %s = %q, want %q", amount, capitals, want))
		}
		b.waitImages("receipt QR code")
		b.screenshot("receipt")

		// What the database says: those two bills paid, the tuition not, two receipts.
		ctx := context.Background()
		for code, status := range payerBills(t, p, studentLogin) {
			want := store.BillUnpaid
			if code == "DORM-2026" || code == "CET-2026-12" {
				want = store.BillPaid
			}
			if status != want {
				t.Errorf("bill %s status = %s, want %s", code, status, want)
			}
		}
		order := new(store.Order)
		if err := p.DB.NewSelect().Model(order).Where("order_no = ?", orderNo).Scan(ctx); err != nil {
			t.Fatalf("order %s: %v", orderNo, err)
		}
		if order.Status != store.OrderPaid || order.TotalFen != 123000 {
			t.Errorf("order %s = %s %d fen, want paid 123000 fen", orderNo, order.Status, order.TotalFen)
		}
		n, err := p.DB.NewSelect().Model((*store.Receipt)(nil)).Where("order_id = ?", order.ID).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("receipts of order %s = %d, want 2", orderNo, n)
		}
	})
}

// TestBrowserCampusCardWrongPasswordThenRight pays the exam fee from the campus card: a
// wrong password shows the card system's reason and debits nothing, the right one pays.
func TestBrowserCampusCardWrongPasswordThenRight(t *testing.T) {
	chromium := chromiumPath(t)
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := newBrowser(t, chromium, p.URL)
		signIn(b)

		exam := withText(".bill", "考试费")
		b.tap("tick the exam fee", within(exam, "input.bill-check"))
		b.waitFor("total", stepTimeout, withText("#total .paybar-amount", "¥30.00"))
		b.tap("choose 校园卡", withText("label.channel", "校园卡"))
		checked := eval[string](b, "chosen channel", `document.querySelector("input[name=channel]:checked")?.value ?? ""`)
		if checked != "campuscard" {
			b.fail("choose 校园卡", fmt.Errorf("checked channel %q, want campuscard", checked))
		}
		b.tap("去支付", withText(".paybar button", "去支付"))
		b.waitURL("order page", "/pay/orders/")
		password := css("#card-password")
		pay := withText("#order-status button", "确认支付")
		b.waitFor("card password form", stepTimeout, password)
		if got := b.text("pay button", pay); got != "确认支付 ¥30.00" {
			b.fail("card password form", fmt.Errorf("button %q, want 确认支付 ¥30.00", got))
		}

		// A wrong password: the reason right above the form, the field emptied, the card untouched.
		b.do("type a wrong password", stepTimeout, chromedp.SendKeys(password, "000000"))
		b.tap("确认支付 (wrong password)", pay)
		alert := css("#card-error .alert")
		b.waitFor("error message", stepTimeout, alert)
		if got := b.text("error message", alert); !strings.Contains(got, "密码") {
			b.fail("error message", fmt.Errorf("alert %q, want it to mention 密码", got))
		}
		if got := eval[string](b, "password field after the error", string(password)+`.value`); got != "" {
			t.Errorf("password field after a wrong password = %q, want it emptied", got)
		}
		b.screenshot("wrong-password")
		if got := cardBalance(t, p, ctx); got != cardBalanceFen {
			t.Fatalf("balance after a wrong password = %d fen, want %d (nothing debited)", got, cardBalanceFen)
		}

		// The right password pays.
		b.do("type the password", stepTimeout, chromedp.SendKeys(password, cardPassword))
		b.tap("确认支付 (right password)", pay)
		b.waitFor("paid order", paymentTimeout, withText(".result-title", "支付成功"))
		b.screenshot("paid")
		if got := cardBalance(t, p, ctx); got != cardBalanceFen-3000 {
			t.Errorf("balance after paying ¥30.00 = %d fen, want %d", got, cardBalanceFen-3000)
		}
		bills := payerBills(t, p, studentLogin)
		if bills["CET-2026-12"] != store.BillPaid {
			t.Errorf("exam fee status = %s, want paid", bills["CET-2026-12"])
		}
	})
}

// signIn opens /pay, is sent to the login page, and signs in as the demo student.
func signIn(b *browser) {
	b.t.Helper()
	b.open("open /pay", "/pay")
	u := b.waitURL("login page", "/login")
	if next := u.Query().Get("next"); next != "/pay" {
		b.fail("login page", fmt.Errorf("next = %q, want /pay", next))
	}
	b.waitFor("login page", stepTimeout, css("#login"))
	b.screenshot("login")
	b.do("type the login", stepTimeout, chromedp.SendKeys(css("#login"), studentLogin))
	b.do("type the password", stepTimeout, chromedp.SendKeys(css("#password"), studentPassword))
	b.tap("登录", withText("button[type=submit]", "登录"))
	b.waitURL("after login", "/pay")
}

// payerBills returns the status of each of the payer's bills by charge item code.
func payerBills(t *testing.T, p *servertest.Platform, login string) map[string]store.BillStatus {
	t.Helper()
	ctx := context.Background()
	u := new(store.User)
	if err := p.DB.NewSelect().Model(u).Where("login = ?", login).Scan(ctx); err != nil {
		t.Fatalf("user %s: %v", login, err)
	}
	var bills []store.Bill
	if err := p.DB.NewSelect().Model(&bills).Relation("Item").Where("?TableAlias.payer_id = ?", u.ID).Scan(ctx); err != nil {
		t.Fatalf("bills of %s: %v", login, err)
	}
	out := make(map[string]store.BillStatus, len(bills))
	for _, b := range bills {
		out[b.Item.Code] = b.Status
	}
	if codes := mapKeys(out); len(codes) != 3 {
		t.Fatalf("bills of %s: %v, want the three demo bills", login, codes)
	}
	return out
}

func cardBalance(t *testing.T, p *servertest.Platform, ctx context.Context) int64 {
	t.Helper()
	fen, err := p.Card.Balance(ctx, studentLogin)
	if err != nil {
		t.Fatal(err)
	}
	return fen
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
