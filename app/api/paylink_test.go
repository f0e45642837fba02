package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/api/client"
	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

func billID(t *testing.T, p *servertest.Platform, appID, billNo string) int64 {
	t.Helper()
	var id int64
	if err := p.DB.NewSelect().Model((*store.Bill)(nil)).Column("id").Where("source_client = ? AND bill_no = ?", appID, billNo).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPayURLSignsThePayerIn(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		c := apiClient(t, p, "admissions", false, "TUITION-2026", "CONF-AI-2026")
		bill, err := c.CreateBill(ctx, client.NewBill{BillNo: "PAY-1", ItemCode: "TUITION-2026", Amount: 123456,
			Payer: client.Payer{Type: "internal", ID: "2026000005"}, DueDate: time.Now().AddDate(0, 0, 7).Format("2006-01-02")})
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(billID(t, p, "admissions", "PAY-1"), 10)

		// A visitor with no session opens the link: signed in as the payer, the bill ticked.
		b := p.NewBrowser(t)
		code, _, resp := b.Do("GET", bill.PayURL, nil, false)
		if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay?bill="+id {
			t.Fatalf("pay_url: %d → %q, want 303 to /pay?bill=%s", code, resp.Header.Get("Location"), id)
		}
		code, page := b.Get("/pay?bill=" + id)
		if code != http.StatusOK || !strings.Contains(page, `value="`+id+`" checked`) || !strings.Contains(page, "已选 1 项") ||
			!strings.Contains(page, "¥1,234.56") {
			t.Fatalf("cashier after the link: %d, bill %s not ticked with its total\n%s", code, id, page)
		}

		// A tampered token, a token of another purpose, an expired link: refused, nobody signed in.
		tampered := bill.PayURL[:len(bill.PayURL)-2] + "xx"
		other := strings.Replace(bill.PayURL, "/pay/b/"+id+".", "/pay/b/"+strconv.Itoa(mustAtoi(t, id)+1)+".", 1)
		past, err := c.CreateBill(ctx, client.NewBill{BillNo: "PAY-OLD", ItemCode: "TUITION-2026", Amount: 100,
			Payer: client.Payer{Type: "internal", ID: "2026000006"}, DueDate: time.Now().AddDate(0, 0, -2).Format("2006-01-02")})
		if err != nil {
			t.Fatal(err)
		}
		for name, link := range map[string]string{"tampered": tampered, "another bill's id": other, "expired": past.PayURL} {
			v := p.NewBrowser(t)
			code, page, _ := v.Do("GET", link, nil, false)
			if code != http.StatusGone || !strings.Contains(page, "缴费链接无效或已过期") {
				t.Errorf("%s link: %d, want 410 with an explanation", name, code)
			}
			if code, _ := v.Get("/pay"); code != http.StatusSeeOther {
				t.Errorf("%s link signed someone in (/pay answered %d)", name, code)
			}
		}

		// An off-campus payer's link opens the order for the bill; opening it twice, the same order.
		ext, err := c.CreateBill(ctx, client.NewBill{BillNo: "PAY-EXT", ItemCode: "CONF-AI-2026", Description: `<script>alert(1)</script>会务费`,
			Payer: client.Payer{Type: "external", Name: "校外专家", Phone: "13900000009"}})
		if err != nil {
			t.Fatal(err)
		}
		guest := p.NewBrowser(t)
		code, _, resp = guest.Do("GET", ext.PayURL, nil, false)
		loc := resp.Header.Get("Location")
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/pay/orders/P") {
			t.Fatalf("external pay_url: %d → %q, want the order", code, loc)
		}
		code, page = guest.Get(loc)
		if code != http.StatusOK || !strings.Contains(page, "¥800.00") || strings.Contains(page, "<script>alert") ||
			!strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;会务费") {
			t.Errorf("guest order page: %d, want the bill's ¥800.00 and its description escaped\n%s", code, page)
		}
		if _, _, again := guest.Do("GET", ext.PayURL, nil, false); again.Header.Get("Location") != loc {
			t.Errorf("second opening → %q, want the same order %q", again.Header.Get("Location"), loc)
		}

		// Paid or cancelled since: the link says so and signs nobody in.
		if _, err := c.CancelBill(ctx, "PAY-1"); err != nil {
			t.Fatal(err)
		}
		v := p.NewBrowser(t)
		if code, page, _ := v.Do("GET", bill.PayURL, nil, false); code != http.StatusGone || !strings.Contains(page, "该账单已取消") {
			t.Errorf("cancelled bill's link: %d, want 410 账单已取消", code)
		}
	})
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPayLinkExpiry(t *testing.T) {
	created := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	day := func(s string) *time.Time { d, _ := time.Parse("2006-01-02", s); return &d }
	for _, tt := range []struct {
		due  *time.Time
		want time.Time
	}{
		{nil, created.Add(30 * 24 * time.Hour)},
		{day("2026-12-01"), time.Date(2026, 12, 2, 0, 0, 0, 0, bizday.Shanghai)},
		{day("2027-06-30"), created.Add(30 * 24 * time.Hour)},
	} {
		if got := billing.PayLinkExpiry(&store.Bill{CreatedAt: created, DueDate: tt.due}); !got.Equal(tt.want) {
			t.Errorf("PayLinkExpiry(due %v) = %v, want %v", tt.due, got, tt.want)
		}
	}
}
