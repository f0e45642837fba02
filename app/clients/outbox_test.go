package clients_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/api/client"
	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/clients"
	"campuspay/app/egress"
	"campuspay/store"
	"campuspay/store/storetest"
)

// businessSystem is a fake receiver of callbacks: it verifies each, refuses the first
// `failFirst` deliveries, and deduplicates on event_id.
type businessSystem struct {
	mu        sync.Mutex
	verifier  *client.Client
	failFirst int
	calls     int
	bad       int
	seen      map[string]int // event_id → deliveries accepted
	types     []string
}

func (b *businessSystem) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if err := b.verifier.VerifyCallback(r, body); err != nil {
		b.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if b.calls <= b.failFirst {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var ev struct {
		EventID string `json:"event_id"`
		Type    string `json:"type"`
		Data    struct {
			Bill billing.APIBill `json:"bill"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.Bill.BillNo == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if b.seen[ev.EventID] == 0 {
		b.types = append(b.types, ev.Type+":"+ev.Data.Bill.Status)
	}
	b.seen[ev.EventID]++
	w.WriteHeader(http.StatusNoContent)
}

func TestCallbacksRetryUntilTheReceiverAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Clients.Secrets = auth.Box{Key: []byte("test")}
		recv := &businessSystem{failFirst: 2, seen: map[string]int{}}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		f.Clients.Egress = allowing(egress.HostPortOf(srv.URL)) // the receiver is on loopback
		_, secret, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "admissions", Name: "招生系统",
			AllowedItems: []string{f.Item.Code}, CallbackURL: srv.URL + "/campuspay/callback?v=1"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		recv.verifier = client.New(srv.URL, "admissions", secret)
		// A bill the business system posted, paid by the payer.
		if _, err := db.NewUpdate().Model((*store.Bill)(nil)).Set("source_client = 'admissions'").Where("id = ?", f.Bills[0].ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		if _, err := f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-CB")); err != nil {
			t.Fatal(err)
		}
		deliver := func() (int, int) {
			d, g, err := f.Clients.DeliverEvents(ctx, 50)
			if err != nil {
				t.Fatal(err)
			}
			return d, g
		}
		if d, _ := deliver(); d != 0 {
			t.Fatalf("first attempt delivered %d, want 0 (the receiver is down)", d)
		}
		if d, _ := deliver(); d != 0 {
			t.Fatalf("an immediate second run sent again before the retry time")
		}
		f.Clock.Advance(16 * time.Second)
		deliver() // second attempt, refused too
		f.Clock.Advance(61 * time.Second)
		if d, _ := deliver(); d != 1 {
			t.Fatalf("third attempt delivered %d, want 1", d)
		}
		f.Clock.Advance(48 * time.Hour)
		if d, _ := deliver(); d != 0 {
			t.Errorf("a delivered event was sent again")
		}
		var ev store.Event
		db.NewSelect().Model(&ev).Scan(ctx)
		if ev.Status != clients.EventDelivered || ev.Attempts != 3 || ev.LastStatus != http.StatusNoContent {
			t.Errorf("event = %s after %d attempts (last %d), want delivered after 3", ev.Status, ev.Attempts, ev.LastStatus)
		}
		if recv.bad != 0 {
			t.Errorf("%d callbacks failed the receiver's signature check", recv.bad)
		}
		if len(recv.types) != 1 || recv.types[0] != "bill.paid:paid" {
			t.Errorf("receiver saw %v, want one bill.paid for a paid bill", recv.types)
		}
	})
}

func TestCallbacksGiveUpThenResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Clients.Secrets = auth.Box{Key: []byte("test")}
		recv := &businessSystem{failFirst: 1000, seen: map[string]int{}}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		f.Clients.Egress = allowing(egress.HostPortOf(srv.URL))
		_, secret, _ := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "donations", Name: "捐赠系统", CallbackURL: srv.URL}, "test")
		recv.verifier = client.New(srv.URL, "donations", secret)
		db.NewUpdate().Model((*store.Bill)(nil)).Set("source_client = 'donations'").Where("id = ?", f.Bills[2].ID).Exec(ctx)
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[2].ID})
		f.Svc.ApplyTrade(ctx, "sandbox", f.Fake.Paid(o, "SB-DOWN"))
		gaveUp := 0
		for range len(clients.CallbackRetries) + 1 {
			_, g, err := f.Clients.DeliverEvents(ctx, 50)
			if err != nil {
				t.Fatal(err)
			}
			gaveUp += g
			f.Clock.Advance(25 * time.Hour)
		}
		if gaveUp != 1 || recv.calls != len(clients.CallbackRetries)+1 {
			t.Fatalf("gave up %d times after %d calls, want once after %d", gaveUp, recv.calls, len(clients.CallbackRetries)+1)
		}
		// The receiver is back; finance resends every failed callback of the client.
		recv.failFirst = 0
		if n, err := f.Clients.ResendEvents(ctx, "donations", 0, "finance"); err != nil || n != 1 {
			t.Fatalf("ResendEvents = %d, %v; want 1", n, err)
		}
		if d, _, _ := f.Clients.DeliverEvents(ctx, 50); d != 1 {
			t.Errorf("resent callback delivered %d, want 1: nothing lost while the receiver was down", d)
		}
	})
}
