package api_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"campuspay/app/api/client"
	"campuspay/app/billing"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// payByCard pays a bill of a demo student in full with the campus card.
func payByCard(t *testing.T, p *servertest.Platform, id int64, payerNo string) {
	t.Helper()
	ctx := context.Background()
	var payer store.User
	if err := p.DB.NewSelect().Model(&payer).Where("payer_no = ?", payerNo).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := p.Billing.CreateOrder(ctx, billing.OrderRequest{PayerID: payer.ID, Lines: []billing.LineRequest{{BillID: id}}, Channel: "campuscard"})
	if err != nil {
		t.Fatal(err)
	}
	if o, _, err = p.Billing.StartPayment(ctx, o.OrderNo, payerNo, "123456"); err != nil || o.Status != store.OrderPaid {
		t.Fatalf("card payment: %v, order %v", err, o)
	}
}

func TestPaidBillRefundsAndCallbacks(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		c := apiClient(t, p, "admissions", false, "TUITION-2026")
		if _, err := c.CreateBill(ctx, client.NewBill{BillNo: "FEE-1", ItemCode: "TUITION-2026", Amount: 20000,
			Payer: client.Payer{Type: "internal", ID: "2026000002"}}); err != nil {
			t.Fatal(err)
		}
		// Nothing paid yet: nothing to refund.
		code, raw := signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", map[string]any{"refund_no": "R-0", "amount": 100, "reason": "测试"})
		if e := decode[apiErr](t, raw); code != 422 || e.Error.Code != "refund_exceeds_paid" {
			t.Errorf("refund of an unpaid bill: %d %s, want 422 refund_exceeds_paid", code, raw)
		}
		payByCard(t, p, billID(t, p, "admissions", "FEE-1"), "2026000002")

		code, raw = signed(t, c, "GET", "/api/v1/bills/FEE-1", nil)
		b := decode[client.Bill](t, raw)
		if code != 200 || b.Status != "paid" || b.AmountPaid != 20000 || b.PaidAt == nil || b.PayURL != "" ||
			len(b.Payments) != 1 || b.Payments[0].Channel != "campuscard" || b.Payments[0].Amount != 20000 || !strings.HasPrefix(b.Payments[0].OrderNo, "P") {
			t.Errorf("paid bill: %d %s", code, raw)
		}
		var ev store.Event
		if err := p.DB.NewSelect().Model(&ev).Where("client = ? AND type = ?", "admissions", "bill.paid").Scan(ctx); err != nil {
			t.Fatalf("no bill.paid event in the outbox: %v", err)
		}
		var payload struct {
			EventID string                     `json:"event_id"`
			Data    struct{ Bill client.Bill } `json:"data"`
		}
		if json.Unmarshal([]byte(ev.Payload), &payload); payload.EventID != ev.EventID || payload.Data.Bill.BillNo != "FEE-1" || payload.Data.Bill.Status != "paid" {
			t.Errorf("bill.paid payload %s", ev.Payload)
		}
		if code, raw := signed(t, c, "POST", "/api/v1/bills/FEE-1/cancel", nil); code != 409 || decode[apiErr](t, raw).Error.Code != "bill_not_cancellable" {
			t.Errorf("cancel a paid bill: %d %s, want 409 bill_not_cancellable", code, raw)
		}

		// A refund: 201 pending; the same again 200; the same number otherwise 409.
		refund := map[string]any{"refund_no": "R-1", "amount": 5000, "reason": "<b>退学</b>退还部分"}
		code, raw = signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", refund)
		r := decode[client.Refund](t, raw)
		if code != 201 || r.RefundNo != "R-1" || r.BillNo != "FEE-1" || r.Amount != 5000 || r.Status != "pending" || r.FinishedAt != nil || !strings.HasSuffix(r.CreatedAt, "+08:00") {
			t.Fatalf("refund: %d %s", code, raw)
		}
		if code, again := signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", refund); code != 200 || string(again) != string(raw) {
			t.Errorf("same refund again: %d %s, want 200 %s", code, again, raw)
		}
		refund["amount"] = 4000
		if code, raw := signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", refund); code != 409 || decode[apiErr](t, raw).Error.Code != "refund_conflict" {
			t.Errorf("same refund_no, other amount: %d %s, want 409 refund_conflict", code, raw)
		}
		if code, raw := signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", map[string]any{"refund_no": "R-2", "amount": 15001, "reason": "多退"}); code != 422 || decode[apiErr](t, raw).Error.Code != "refund_exceeds_paid" {
			t.Errorf("over-refund: %d %s, want 422 refund_exceeds_paid", code, raw)
		}
		for name, body := range map[string]map[string]any{
			"reason":    {"refund_no": "R-3", "amount": 1},
			"amount":    {"refund_no": "R-3", "reason": "x"},
			"refund_no": {"amount": 1, "reason": "x"},
		} {
			code, raw := signed(t, c, "POST", "/api/v1/bills/FEE-1/refunds", body)
			if e := decode[apiErr](t, raw); code != 400 || e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, name) {
				t.Errorf("refund without %s: %d %s, want 400 naming it", name, code, raw)
			}
		}
		if code, _ := signed(t, c, "POST", "/api/v1/bills/NOPE/refunds", map[string]any{"refund_no": "R-9", "amount": 1, "reason": "x"}); code != 404 {
			t.Errorf("refund of an unknown bill: %d, want 404", code)
		}
		code, shown := signed(t, c, "GET", "/api/v1/refunds/R-1", nil)
		if code != 200 || string(shown) != string(raw) {
			t.Errorf("GET refund: %d %s, want %s", code, shown, raw)
		}
		if code, _ := signed(t, c, "GET", "/api/v1/refunds/R-404", nil); code != 404 {
			t.Errorf("GET unknown refund: %d, want 404", code)
		}
		if code, raw := signed(t, c, "GET", "/api/v1/bills/FEE-1", nil); code != 200 || !strings.Contains(string(raw), `"refunds":[{"refund_no":"R-1","amount":5000,"status":"pending"}]`) {
			t.Errorf("bill's refunds: %s", raw)
		}

		// Finance sees it in the approval queue, the reason escaped.
		var row store.Refund
		if err := p.DB.NewSelect().Model(&row).Where("client_refund_no = ?", "R-1").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		fin := p.NewBrowser(t)
		fin.Login("finance", "finance123456")
		code, page := fin.Get("/console/refunds")
		if code != 200 || !strings.Contains(page, row.RefundNo) || !strings.Contains(page, "client:admissions") {
			t.Errorf("console refund queue: %d, want %s requested by client:admissions", code, row.RefundNo)
		}
		if _, page := fin.Get("/console/refunds/" + strconv.FormatInt(row.ID, 10)); strings.Contains(page, "<b>退学</b>") || !strings.Contains(page, "&lt;b&gt;退学&lt;/b&gt;") {
			t.Errorf("refund page does not escape the reason")
		}
	})
}
