package cashier_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/auth"
	"campuspay/app/server/servertest"
	sandboxsim "campuspay/app/sim/sandbox"
	"campuspay/store"
)

const (
	student       = "2026000001"
	frozenStudent = "2026000003"
	password      = "pay123456"
)

// billIDs returns the ids of a payer's bills by item code.
func billIDs(t *testing.T, p *servertest.Platform, payerNo string) map[string]string {
	t.Helper()
	var rows []struct {
		ID   int64  `bun:"id"`
		Code string `bun:"code"`
	}
	err := p.DB.NewSelect().TableExpr("bills AS b").ColumnExpr("b.id, ci.code").
		Join("JOIN charge_items AS ci ON ci.id = b.item_id").Join("JOIN users AS u ON u.id = b.payer_id").
		Where("u.payer_no = ?", payerNo).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Code] = itoa(r.ID)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var orderPathRE = regexp.MustCompile(`/pay/orders/(P[0-9]+)$`)

// createOrder ticks bills and chooses a channel, and returns the new order's number.
func createOrder(t *testing.T, b *servertest.Browser, channel string, bills ...string) string {
	t.Helper()
	b.Get("/pay")
	code, body, resp := b.Post("/pay/orders", url.Values{"bill": bills, "channel": {channel}})
	if code != http.StatusSeeOther {
		t.Fatalf("create order: status %d, want 303\n%s", code, body)
	}
	m := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create order redirected to %q, want an order page", resp.Header.Get("Location"))
	}
	return m[1]
}

// confirmAtSandbox plays the payer tapping 确认支付 on the sandbox's hosted page.
func confirmAtSandbox(t *testing.T, p *servertest.Platform, orderNo string) {
	t.Helper()
	o, err := p.Billing.Order(context.Background(), orderNo)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.PayURL, "/sim/sandbox/pay/") {
		t.Fatalf("order pay URL = %q, want the sandbox's pay page", o.PayURL)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(o.PayURL+"/confirm", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sandbox confirm: status %d, want 303", resp.StatusCode)
	}
}

// waitPaid polls the order's status fragment as the cashier page does, until it says paid.
func waitPaid(t *testing.T, b *servertest.Browser, orderNo string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, body, _ := b.Do("GET", "/pay/orders/"+orderNo+"/status", nil, true)
		if strings.Contains(body, "支付成功") {
			return body
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("order %s not paid within 15 s", orderNo)
	return ""
}

func TestPayerPaysTwoBillsThroughSandbox(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := p.NewBrowser(t)
		if code, _ := b.Get("/pay"); code != http.StatusSeeOther {
			t.Fatalf("GET /pay signed out: status %d, want a redirect to sign in", code)
		}
		b.Login(student, password)

		code, page := b.Get("/pay")
		if code != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "2026-2027学年住宿费") || !strings.Contains(page, "¥1,200.00") {
			t.Fatalf("bills page: status %d; want the full page listing the dormitory fee\n%s", code, page)
		}
		ids := billIDs(t, p, student)

		// Ticking two bills updates the total: an HTMX fragment, not a page.
		_, frag, _ := b.Do("POST", "/pay/total", url.Values{"bill": {ids["DORM-2026"], ids["CET-2026-12"]}}, true)
		if strings.Contains(frag, "<html") || !strings.Contains(frag, "¥1,230.00") || !strings.Contains(frag, "已选 2 项") {
			t.Errorf("total fragment = %q, want 已选 2 项 ¥1,230.00 alone", frag)
		}

		orderNo := createOrder(t, b, "sandbox", ids["DORM-2026"], ids["CET-2026-12"])
		_, orderPage := b.Get("/pay/orders/" + orderNo)
		if !strings.Contains(orderPage, "/pay/orders/"+orderNo+"/qr.png") || !strings.Contains(orderPage, "¥1,230.00") {
			t.Errorf("order page lacks the QR code or the amount")
		}
		_, _, qr := b.Do("GET", "/pay/orders/"+orderNo+"/qr.png", nil, false)
		if qr.Header.Get("Content-Type") != "image/png" {
			t.Errorf("qr.png Content-Type = %q, want image/png", qr.Header.Get("Content-Type"))
		}

		confirmAtSandbox(t, p, orderNo)
		paid := waitPaid(t, b, orderNo)
		receipts := regexp.MustCompile(`/pay/receipts/(\d+)`).FindAllStringSubmatch(paid, -1)
		if len(receipts) != 2 {
			t.Fatalf("paid order shows %d receipts, want 2", len(receipts))
		}
		_, receipt := b.Get("/pay/receipts/" + receipts[0][1])
		if !strings.Contains(receipt, "No. "+receipts[0][1]) || !(strings.Contains(receipt, "壹仟贰佰元整") || strings.Contains(receipt, "叁拾元整")) {
			t.Errorf("receipt page lacks its number or the amount in capitals")
		}
		token := regexp.MustCompile(`data:image/png;base64,`).FindString(receipt)
		if token == "" {
			t.Errorf("receipt has no verification QR code")
		}
		var r store.Receipt
		p.DB.NewSelect().Model(&r).Where("receipt_no = ?", receipts[0][1]).Scan(context.Background())
		if _, verify := b.Get("/r/" + r.VerifyToken); !strings.Contains(verify, "票据真实有效") {
			t.Errorf("verification page does not say the receipt is genuine")
		}
		if _, verify := b.Get("/r/" + strings.Repeat("x", 24)); !strings.Contains(verify, "查无此票据") {
			t.Errorf("verification of a made-up token does not say 查无此票据")
		}
		_, history := b.Get("/pay/history")
		if !strings.Contains(history, orderNo) {
			t.Errorf("history does not list the paid order")
		}
		_, after := b.Get("/pay")
		if strings.Contains(after, "2026-2027学年住宿费") {
			t.Errorf("paid dormitory fee still listed as outstanding")
		}
	})
}

func TestLostNotificationIsRecoveredByQuery(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		p.Sandbox.SetSwitches(sandboxsim.Switches{DropNotify: true})
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		orderNo := createOrder(t, b, "sandbox", ids["CET-2026-12"])
		confirmAtSandbox(t, p, orderNo)
		// The payer comes back from the channel: the platform asks the channel itself.
		code, _ := b.Get("/pay/return/" + orderNo)
		if code != http.StatusSeeOther {
			t.Fatalf("return: status %d, want 303", code)
		}
		o, _ := p.Billing.Order(context.Background(), orderNo)
		if o.Status != store.OrderPaid {
			t.Errorf("order status after return = %s, want paid without any notification", o.Status)
		}
	})
}

func TestDuplicateAndTamperedNotificationsThroughHTTP(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		p.Sandbox.SetSwitches(sandboxsim.Switches{DuplicateNotify: 5})
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		orderNo := createOrder(t, b, "sandbox", ids["DORM-2026"])
		confirmAtSandbox(t, p, orderNo)
		waitPaid(t, b, orderNo)
		ctx := context.Background()
		// Six copies arrive. The payer's page asks the sandbox itself while it waits, so the
		// payment may be applied by that query before any copy lands: then every copy is a
		// duplicate. Either way at most one copy applies and none is lost.
		deadline := time.Now().Add(60 * time.Second)
		for {
			n, err := p.DB.NewSelect().Table("notifications").Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n >= 6 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("notifications stored = %d, want the 6 copies the sandbox sent", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		applied, _ := p.DB.NewSelect().Table("notifications").Where("outcome = 'applied'").Count(ctx)
		dups, _ := p.DB.NewSelect().Table("notifications").Where("outcome = 'duplicate'").Count(ctx)
		if applied > 1 || applied+dups != 6 {
			t.Errorf("notifications applied %d, duplicate %d; want at most 1 applied and the rest duplicates, 6 in all", applied, dups)
		}
		var bill store.Bill
		p.DB.NewSelect().Model(&bill).Where("id = ?", ids["DORM-2026"]).Scan(ctx)
		if bill.AmountPaidFen != 120000 {
			t.Errorf("bill paid %d fen, want 120000 exactly once", bill.AmountPaidFen)
		}
		// A forged notification straight to the platform is refused and kept.
		resp, err := http.Post(p.URL+"/notify/sandbox", "application/json",
			strings.NewReader(`{"merchant":"campuspay","out_trade_no":"`+orderNo+`","trade_no":"SB999","amount_fen":120000,"status":"SUCCESS"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("forged notification answered 200, want a refusal")
		}
		if n, _ := p.DB.NewSelect().Table("payments").Count(ctx); n != 1 {
			t.Errorf("payments = %d, want 1", n)
		}
	})
}

func TestCampusCardFailuresChangeNothing(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		tests := []struct {
			name, payer, item, password, want string
		}{
			{"wrong password", student, "CET-2026-12", "000000", "密码"},
			{"frozen card", frozenStudent, "CET-2026-12", "123456", "冻结"},
			{"balance too low", student, "TUITION-2026", "123456", "余额不足"},
		}
		for _, tt := range tests {
			b := p.NewBrowser(t)
			b.Login(tt.payer, password)
			ids := billIDs(t, p, tt.payer)
			before, err := p.Card.Balance(ctx, tt.payer)
			if err != nil {
				t.Fatal(err)
			}
			orderNo := createOrder(t, b, "campuscard", ids[tt.item])
			b.Get("/pay/orders/" + orderNo)
			_, body, _ := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {tt.password}}, true)
			if !strings.Contains(body, tt.want) || !strings.Contains(body, "alert-error") {
				t.Errorf("%s: answer %q, want an error alert mentioning %s", tt.name, body, tt.want)
			}
			after, _ := p.Card.Balance(ctx, tt.payer)
			if after != before {
				t.Errorf("%s: balance %d → %d, want unchanged", tt.name, before, after)
			}
			o, _ := p.Billing.Order(ctx, orderNo)
			if o.Status != store.OrderOpen || o.Lines[0].Bill.AmountPaidFen != 0 {
				t.Errorf("%s: order %s, bill paid %d; want open and nothing paid", tt.name, o.Status, o.Lines[0].Bill.AmountPaidFen)
			}
			b.Post("/pay/orders/"+orderNo+"/cancel", nil) // release the bill for the next case
		}
		// And the right password pays at once.
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		orderNo := createOrder(t, b, "campuscard", ids["CET-2026-12"])
		b.Get("/pay/orders/" + orderNo)
		code, _, resp := b.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"123456"}}, true)
		if code != http.StatusNoContent || resp.Header.Get("HX-Redirect") != "/pay/orders/"+orderNo {
			t.Fatalf("card payment: status %d redirect %q, want 204 with HX-Redirect to the order", code, resp.Header.Get("HX-Redirect"))
		}
		if bal, _ := p.Card.Balance(ctx, student); bal != 300000-3000 {
			t.Errorf("balance = %d, want %d", bal, 300000-3000)
		}
		if _, page := b.Get("/pay/orders/" + orderNo); !strings.Contains(page, "支付成功") {
			t.Errorf("order page after card payment does not say 支付成功")
		}
	})
}

func TestGuestPaysOpenItemAndLooksItUp(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		guest := p.NewBrowser(t)
		code, form := guest.Get("/i/DONATE-2026")
		if code != http.StatusOK || !strings.Contains(form, "校友捐赠") {
			t.Fatalf("open item page: status %d", code)
		}
		for _, bad := range []struct{ amount, phone, want string }{
			{"12.345", "13900000000", "两位小数"},
			{"-5", "13900000000", ""},
			{"abc", "13900000000", ""},
			{"200000", "13900000000", "金额须在"},
			{"100", "12345", "手机"},
		} {
			code, body, _ := guest.Post("/i/DONATE-2026", url.Values{"name": {"赵校友"}, "phone": {bad.phone}, "amount": {bad.amount}, "channel": {"sandbox"}})
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, "alert-error") || !strings.Contains(body, bad.want) {
				t.Errorf("amount %q phone %q: status %d, want 422 with an error mentioning %q", bad.amount, bad.phone, code, bad.want)
			}
		}
		if n, _ := p.DB.NewSelect().Table("orders").Count(context.Background()); n != 0 {
			t.Fatalf("bad input made %d orders, want 0", n)
		}
		// The demo offers several channels (the sandbox and the companies' fakes): the
		// guest picks one.
		code, body, resp := guest.Post("/i/DONATE-2026", url.Values{"name": {"赵校友"}, "phone": {"13900000000"}, "amount": {"500"}, "channel": {"sandbox"}})
		if code != http.StatusSeeOther {
			t.Fatalf("guest pay: status %d\n%s", code, body)
		}
		orderNo := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))[1]
		confirmAtSandbox(t, p, orderNo)
		waitPaid(t, guest, orderNo)

		// Later, on another device: by order number and phone.
		other := p.NewBrowser(t)
		other.Get("/lookup")
		if code, _, _ := other.Post("/lookup", url.Values{"order_no": {orderNo}, "phone": {"13900000001"}}); code != http.StatusNotFound {
			t.Errorf("lookup with the wrong phone: status %d, want 404", code)
		}
		if code, _ := other.Get("/pay/orders/" + orderNo); code != http.StatusNotFound {
			t.Errorf("order page without lookup: status %d, want 404", code)
		}
		code, _, _ = other.Post("/lookup", url.Values{"order_no": {orderNo}, "phone": {"13900000000"}})
		if code != http.StatusSeeOther {
			t.Fatalf("lookup: status %d, want 303", code)
		}
		if _, page := other.Get("/pay/orders/" + orderNo); !strings.Contains(page, "支付成功") || !strings.Contains(page, "¥500.00") {
			t.Errorf("looked-up order page does not show the paid ¥500.00")
		}
	})
}

// An off-campus visitor's forms carry a token before they have a session (viewing a form
// stores nothing); when their guest order then stores the session, the forms they still
// have open keep working.
func TestGuestFormsShownBeforeTheSessionKeepWorking(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		rows := func() int64 {
			n, err := p.DB.NewSelect().Table("sessions").Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := rows()
		guest := p.NewBrowser(t)
		guest.Get("/lookup") // a second tab, left open
		lookupToken := guest.CSRF
		if code, _ := guest.Get("/i/DONATE-2026"); code != http.StatusOK {
			t.Fatalf("open item page: status %d", code)
		}
		itemToken := guest.CSRF
		if n := rows(); n != before {
			t.Errorf("viewing two forms wrote %d session rows, want none", n-before)
		}

		code, body, resp := guest.Post("/i/DONATE-2026", url.Values{"name": {"赵校友"}, "phone": {"13900000000"}, "amount": {"50"}, "channel": {"sandbox"}, "_csrf": {itemToken}})
		if code != http.StatusSeeOther {
			t.Fatalf("guest pay: status %d\n%s", code, body)
		}
		orderNo := orderPathRE.FindStringSubmatch(resp.Header.Get("Location"))[1]
		if n := rows(); n != before+1 {
			t.Errorf("the guest order stored %d session rows, want 1", n-before)
		}

		// The look-up tab, opened before the order, finds the order.
		code, _, resp = guest.Post("/lookup", url.Values{"order_no": {orderNo}, "phone": {"13900000000"}, "_csrf": {lookupToken}})
		if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/orders/"+orderNo {
			t.Errorf("look-up form shown before the order: status %d Location %q, want 303 to the order", code, resp.Header.Get("Location"))
		}
		// The item page, not reloaded, still pays: a second gift.
		if code, _, _ := guest.Post("/i/DONATE-2026", url.Values{"name": {"赵校友"}, "phone": {"13900000000"}, "amount": {"20"}, "channel": {"sandbox"}, "_csrf": {itemToken}}); code != http.StatusSeeOther {
			t.Errorf("item form shown before the order, sent again: status %d, want 303", code)
		}
		// The order page's own forms carry a token that works too: cancel the first order.
		guest.Get("/pay/orders/" + orderNo)
		if code, _, _ := guest.Post("/pay/orders/"+orderNo+"/cancel", nil); code != http.StatusSeeOther {
			t.Errorf("cancel from the order page: status %d, want 303", code)
		}
		if o, _ := p.Billing.Order(ctx, orderNo); o == nil || o.Status != store.OrderClosed {
			t.Errorf("first order after cancel: %+v, want closed", o)
		}
		if n := rows(); n != before+1 {
			t.Errorf("the guest's session rows: %d, want 1", n-before)
		}
		// A forged token is still refused.
		if code, _, _ := guest.Post("/lookup", url.Values{"order_no": {orderNo}, "phone": {"13900000000"}, "_csrf": {strings.Repeat("0", 64)}}); code != http.StatusForbidden {
			t.Errorf("look-up with a forged token: status %d, want 403", code)
		}
	})
}

func TestRequestsThatMustBeRefused(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		a := p.NewBrowser(t)
		a.Login(student, password)
		ids := billIDs(t, p, student)
		theirs := billIDs(t, p, "2026000002")

		// No CSRF token: refused, nothing made.
		code, _, _ := a.Do("POST", "/pay/orders", url.Values{"bill": {ids["CET-2026-12"]}, "channel": {"sandbox"}, "_csrf": {"forged"}}, false)
		if code != http.StatusForbidden {
			t.Errorf("order without a valid CSRF token: status %d, want 403", code)
		}
		// Someone else's bill.
		a.Get("/pay")
		if code, _, _ := a.Post("/pay/orders", url.Values{"bill": {theirs["CET-2026-12"]}, "channel": {"sandbox"}}); code != http.StatusForbidden {
			t.Errorf("order on another payer's bill: status %d, want 403", code)
		}
		// Tampered ids and channels.
		for _, form := range []url.Values{
			{"bill": {"abc"}, "channel": {"sandbox"}},
			{"bill": {ids["CET-2026-12"]}, "channel": {"bitcoin"}},
			{"channel": {"sandbox"}},
		} {
			if code, _, _ := a.Post("/pay/orders", form); code < 400 || code >= 500 {
				t.Errorf("order %v: status %d, want a 4xx", form, code)
			}
		}
		if n, _ := p.DB.NewSelect().Table("orders").Count(context.Background()); n != 0 {
			t.Errorf("refused requests made %d orders, want 0", n)
		}
		// Another payer cannot see this payer's order, nor pay it by card.
		orderNo := createOrder(t, a, "sandbox", ids["CET-2026-12"])
		c := p.NewBrowser(t)
		c.Login("2026000002", password)
		if code, _ := c.Get("/pay/orders/" + orderNo); code != http.StatusNotFound {
			t.Errorf("another payer's order page: status %d, want 404", code)
		}
		// The PC's hand-off QR code opens the same order on a phone without signing in.
		phone := p.NewBrowser(t)
		_, _, handoff := a.Do("GET", "/pay/orders/"+orderNo+"/handoff.png", nil, false)
		if handoff.StatusCode != http.StatusOK {
			t.Fatalf("handoff.png: status %d", handoff.StatusCode)
		}
		if code, _ := phone.Get("/pay/orders/" + orderNo); code != http.StatusNotFound {
			t.Errorf("phone without the hand-off: status %d, want 404", code)
		}
		_, pcPage := a.Get("/pay/orders/" + orderNo)
		link := regexp.MustCompile(`/h/[0-9A-Za-z._-]+`).FindString(pcPage)
		if link == "" {
			t.Fatal("order page on a PC shows no hand-off link")
		}
		if code, _ := phone.Get(link); code != http.StatusSeeOther {
			t.Errorf("hand-off link: status %d, want 303 to the order", code)
		}
		if code, page := phone.Get("/pay/orders/" + orderNo); code != http.StatusOK || !strings.Contains(page, "¥30.00") {
			t.Errorf("phone after the hand-off: status %d, want the order page", code)
		}
		if code, _ := phone.Get(link[:len(link)-2] + "xx"); code != http.StatusNotFound {
			t.Errorf("tampered hand-off link: status %d, want 404", code)
		}
		// HTMX errors come back as an alert fragment for #flash.
		_, frag, resp := a.Do("POST", "/pay/orders/"+orderNo+"/card", url.Values{"password": {"1"}}, true)
		if resp.Header.Get("HX-Retarget") != "#flash" || !strings.Contains(frag, "alert-error") || strings.Contains(frag, "<html") {
			t.Errorf("HTMX error: retarget %q body %q, want an alert fragment for #flash", resp.Header.Get("HX-Retarget"), frag)
		}
	})
}

func TestHealthz(t *testing.T) {
	p := servertest.Start(t, servertest.Options{})
	resp, err := http.Get(p.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: status %d, want 200", resp.StatusCode)
	}
}

// The bills page reads its session with the bills: a payer disabled while signed in is sent
// to sign in at the next look, an account without the payer role is refused, and a bill an
// open order holds brings that order onto the page.
func TestBillsPageChecksItsSession(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		if code, page := b.Get("/pay"); code != http.StatusOK || strings.Contains(page, "待支付订单") {
			t.Fatalf("bills page: status %d, or it lists an open order before there is one", code)
		}
		orderNo := createOrder(t, b, "sandbox", ids["CET-2026-12"])
		if _, page := b.Get("/pay"); !strings.Contains(page, orderNo) {
			t.Errorf("bills page does not show the open order %s holding a bill", orderNo)
		}

		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		if code, _ := fin.Get("/pay"); code != http.StatusForbidden {
			t.Errorf("finance account on the bills page: status %d, want 403", code)
		}

		var u store.User
		if err := p.DB.NewSelect().Model(&u).Where("payer_no = ?", student).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Auth.SetDisabled(ctx, u.ID, true, auth.Actor{Login: "admin"}); err != nil {
			t.Fatal(err)
		}
		if code, _ := b.Get("/pay"); code != http.StatusSeeOther {
			t.Errorf("bills page of a payer disabled meanwhile: status %d, want a redirect to sign in", code)
		}
	})
}
