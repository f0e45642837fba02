package billing_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing"
	"campuspay/app/billing/billingtest"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestNotificationOfANonSuccessStateIsAcknowledgedAndIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		o := f.Order(t, billing.LineRequest{BillID: f.Bills[0].ID})
		signed := http.Header{"X-Fake-Sign": {"ok"}}
		total := strconv.FormatInt(o.TotalFen, 10)
		for _, status := range []string{"closed", "waiting"} {
			_, ack, err := f.Svc.HandleNotification(ctx, "sandbox", signed, []byte(o.OrderNo+",SB-N,"+total+","+status), "127.0.0.1")
			if err != nil || string(ack) != "success" {
				t.Errorf("%s notification = %q, %v; want acknowledged", status, ack, err)
			}
		}
		var recs []store.Notification
		if err := db.NewSelect().Model(&recs).OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0].Outcome != "ignored" || recs[1].Outcome != "ignored" || recs[0].OrderNo != o.OrderNo {
			t.Errorf("notifications = %+v, want two recorded as ignored", recs)
		}
		got, _ := f.Svc.Order(ctx, o.OrderNo)
		if got.Status != store.OrderOpen || billingtest.Count(t, db, "payments") != 0 {
			t.Errorf("order = %s with %d payments, want open and none", got.Status, billingtest.Count(t, db, "payments"))
		}

		// Forged, malformed, or about something not ours: still refused.
		refused := []struct {
			name   string
			header http.Header
			body   string
		}{
			{"unsigned", http.Header{}, o.OrderNo + ",SB-N," + total + ",closed"},
			{"malformed", signed, "closed"},
			{"unknown order", signed, "P2026000000000000000000,SB-N," + total + ",closed"},
			{"another amount", signed, o.OrderNo + ",SB-N,1,closed"},
		}
		for _, tt := range refused {
			if _, _, err := f.Svc.HandleNotification(ctx, "sandbox", tt.header, []byte(tt.body), "127.0.0.1"); err == nil {
				t.Errorf("%s: acknowledged, want refused", tt.name)
			} else if !errors.Is(err, fault.ErrInvalid) && !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("%s: error = %v, want invalid or not found", tt.name, err)
			}
		}
		if n, _ := db.NewSelect().Model((*store.Notification)(nil)).Where("outcome = 'rejected'").Count(ctx); int(n) != len(refused) {
			t.Errorf("rejected notifications = %d, want %d", n, len(refused))
		}
	})
}
