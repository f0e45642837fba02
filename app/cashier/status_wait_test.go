package cashier_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"campuspay/app/billing"
	"campuspay/app/channel"
	"campuspay/app/server/servertest"
)

// pollStatus asks for the order's status block once, as the page's poll does, and sends
// back what it answered.
func pollStatus(b *servertest.Browser, orderNo string) <-chan string {
	out := make(chan string, 1)
	go func() {
		req, err := http.NewRequest("GET", b.Base+"/pay/orders/"+orderNo+"/status", nil)
		if err != nil {
			out <- err.Error()
			return
		}
		req.Header.Set("HX-Request", "true")
		resp, err := b.Client.Do(req)
		if err != nil {
			out <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- err.Error()
			return
		}
		out <- string(body)
	}()
	return out
}

// waitWatched waits until n orders have polls waiting for their payment.
func waitWatched(t *testing.T, s *billing.Service, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.WatchedOrders() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d orders watched, want %d", s.WatchedOrders(), n)
		}
	}
}

func pay(t *testing.T, p *servertest.Platform, s *billing.Service, orderNo string) {
	t.Helper()
	o, err := p.Billing.Order(context.Background(), orderNo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.ApplyTrade(context.Background(), "sandbox", channel.Trade{OrderNo: o.OrderNo, TradeNo: "SB-" + o.OrderNo,
		AmountFen: o.TotalFen, Status: channel.TradeSuccess, PaidAt: time.Now()})
	if err != nil || out.Duplicate {
		t.Fatalf("ApplyTrade(%s) = %+v, %v", orderNo, out, err)
	}
}

// A poll of an open order's status block that is waiting when the payment is applied
// answers 支付成功 with the receipts, not the pending block: on this instance it is woken,
// and a payment applied on another instance is found when its wait runs out. A poll of an
// order nobody pays answers the pending block, and no watcher is left behind.
func TestStatusPollWaitsForThePayment(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		other := &billing.Service{DB: p.DB, Settings: p.Billing.Settings, Channels: p.Billing.Channels, Merchants: p.Billing.Merchants}

		for _, tt := range []struct {
			name string
			bill string
			by   *billing.Service
		}{
			{"paid on this instance", ids["DORM-2026"], p.Billing},
			{"paid on another instance", ids["CET-2026-12"], other},
		} {
			orderNo := createOrder(t, b, "sandbox", tt.bill)
			answer := pollStatus(b, orderNo)
			waitWatched(t, p.Billing, 1)
			pay(t, p, tt.by, orderNo)
			frag := <-answer
			if !strings.Contains(frag, "支付成功") || !strings.Contains(frag, "/pay/receipts/") {
				t.Errorf("%s: the waiting poll answered\n%s\nwant 支付成功 and the receipt", tt.name, frag)
			}
			waitWatched(t, p.Billing, 0)
		}

		// Nobody pays: the poll answers the open order's block once its wait is over.
		orderNo := createOrder(t, b, "sandbox", ids["TUITION-2026"])
		frag := <-pollStatus(b, orderNo)
		if strings.Contains(frag, "支付成功") || !strings.Contains(frag, `id="order-status"`) || !strings.Contains(frag, "every 2s") {
			t.Errorf("poll of an unpaid order answered\n%s\nwant the open order's block, still polling", frag)
		}
		if n := p.Billing.WatchedOrders(); n != 0 {
			t.Errorf("%d orders still watched after every poll answered", n)
		}
	})
}
