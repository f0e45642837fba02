package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"campuspay/app/billing"
	"campuspay/app/demo"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

const (
	rfStudent  = "2026000001"
	rfFinance2 = "finance2" // a second finance user: the approver of finance's own requests
	rfPassword = "finance123456"
)

// rfSignIn returns a browser signed in as login.
func rfSignIn(t *testing.T, p *servertest.Platform, login, password string) *servertest.Browser {
	t.Helper()
	b := p.NewBrowser(t)
	b.Login(login, password)
	return b
}

// rfAddFinance signs in the demo's second finance user, so that finance's own requests can
// be approved.
func rfAddFinance(t *testing.T, p *servertest.Platform) *servertest.Browser {
	t.Helper()
	return rfSignIn(t, p, rfFinance2, rfPassword)
}

// rfBill returns a demo payer's bill of an item.
func rfBill(t *testing.T, p *servertest.Platform, payerNo, code string) *store.Bill {
	t.Helper()
	b := new(store.Bill)
	err := p.DB.NewSelect().Model(b).
		Where("bill.item_id = (SELECT id FROM charge_items WHERE code = ?)", code).
		Where("bill.payer_id = (SELECT id FROM users WHERE payer_no = ?)", payerNo).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rfReload(t *testing.T, p *servertest.Platform, id int64) *store.Bill {
	t.Helper()
	b := new(store.Bill)
	if err := p.DB.NewSelect().Model(b).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// rfOrder opens an order for a demo payer's bill of an item.
func rfOrder(t *testing.T, p *servertest.Platform, payerNo, code, channelName string) *store.Order {
	t.Helper()
	bill := rfBill(t, p, payerNo, code)
	o, err := p.Billing.CreateOrder(context.Background(), billing.OrderRequest{PayerID: *bill.PayerID, Channel: channelName,
		Lines: []billing.LineRequest{{BillID: bill.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// rfPayByCard pays a demo payer's bill of an item with the campus card (synchronous).
func rfPayByCard(t *testing.T, p *servertest.Platform, payerNo, code string) *store.Order {
	t.Helper()
	o := rfOrder(t, p, payerNo, code, "campuscard")
	paid, _, err := p.Billing.StartPayment(context.Background(), o.OrderNo, payerNo, demo.CardPassword)
	if err != nil || paid.Status != store.OrderPaid {
		t.Fatalf("card payment of %s: %v", code, err)
	}
	return paid
}

// rfStartSandbox opens a sandbox order and asks the sandbox for its pay page.
func rfStartSandbox(t *testing.T, p *servertest.Platform, payerNo, code string) *store.Order {
	t.Helper()
	o := rfOrder(t, p, payerNo, code, "sandbox")
	o, _, err := p.Billing.StartPayment(context.Background(), o.OrderNo, payerNo, "")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// rfConfirmAtSandbox plays the payer confirming on the sandbox's hosted page, then waits
// until the platform has the payment (the sandbox notifies over HTTP).
func rfConfirmAtSandbox(t *testing.T, p *servertest.Platform, o *store.Order) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(o.PayURL+"/confirm", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sandbox confirm: status %d, want 303", resp.StatusCode)
	}
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		n, err := p.DB.NewSelect().Model((*store.Payment)(nil)).Where("order_id = ?", o.ID).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("order %s: no payment within 15 s", o.OrderNo)
}

// rfPayBySandbox pays a demo payer's bill of an item through the sandbox, over HTTP.
func rfPayBySandbox(t *testing.T, p *servertest.Platform, payerNo, code string) *store.Order {
	t.Helper()
	o := rfStartSandbox(t, p, payerNo, code)
	rfConfirmAtSandbox(t, p, o)
	return o
}

var rfRefundPath = regexp.MustCompile(`^/console/refunds/(\d+)$`)

// rfRefundOf reads the refund id from the redirect a request or an approval answered with:
// rfRefundOf(t)(b.Post(…)).
func rfRefundOf(t *testing.T) func(code int, body string, resp *http.Response) int64 {
	return func(code int, body string, resp *http.Response) int64 {
		t.Helper()
		m := rfRefundPath.FindStringSubmatch(resp.Header.Get("Location"))
		if code != http.StatusSeeOther || m == nil {
			t.Fatalf("status %d, Location %q; want 303 to a refund page\n%s", code, resp.Header.Get("Location"), body)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return id
	}
}

func rfRefund(t *testing.T, p *servertest.Platform, id int64) *store.Refund {
	t.Helper()
	r := new(store.Refund)
	if err := p.DB.NewSelect().Model(r).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// rfReceipts returns a bill's receipts, oldest first, once every receipt has its number.
func rfReceipts(t *testing.T, p *servertest.Platform, billID int64) []*store.ReceiptRow {
	t.Helper()
	if err := p.Billing.NumberReceipts(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []*store.ReceiptRow
	if err := p.DB.NewSelect().Model(&rows).Where("bill_id = ?", billID).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rows
}

func rfPath(id int64, rest string) string {
	return "/console/refunds/" + strconv.FormatInt(id, 10) + rest
}
