package clients_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"campuspay/app/auth"
	"campuspay/app/billing/billingtest"
	"campuspay/app/clients"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestClientConsoleQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewFixture(t, db)
		ctx := context.Background()
		f.Clients.Secrets = auth.Box{Key: []byte("test")}
		now := f.Clock.Now()
		suspended := &store.ChargeItem{Code: "OLD-FEE", Name: "旧项目", DepartmentID: f.Item.DepartmentID, Category: "other",
			Audience: store.AudienceInternal, Pricing: store.PricingPerBill, Status: store.ItemSuspended, CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, suspended)
		adm, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "admissions", Name: "招生系统", AllowedItems: []string{"OLD-FEE"}}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Clients.CreateClient(ctx, clients.ClientInput{AppID: "donations", Name: "捐赠系统"}, "test"); err != nil {
			t.Fatal(err)
		}
		f.Clients.SetClientDisabled(ctx, "donations", true, "test")

		// Requests: newest first, filtered by class and code.
		for i, st := range []struct {
			status int
			code   string
		}{{201, ""}, {401, "unauthorized"}, {409, "bill_conflict"}, {500, "internal"}, {200, ""}} {
			billingtest.Insert(t, db, &store.APIRequest{AppID: "admissions", Method: "POST", Path: "/api/v1/bills", Status: st.status,
				ErrorCode: st.code, At: now.Add(time.Duration(i) * time.Minute)})
		}
		reqs, total, err := f.Clients.ClientRequests(ctx, "admissions", clients.RequestFilter{}, 0, 2)
		if err != nil || total != 5 || len(reqs) != 2 || reqs[0].Status != 200 || reqs[1].Status != 500 {
			t.Errorf("ClientRequests(all) = %d rows of %d, %v; want the newest two of 5", len(reqs), total, err)
		}
		for _, tt := range []struct {
			f    clients.RequestFilter
			want int
		}{
			{clients.RequestFilter{Class: 2}, 2},
			{clients.RequestFilter{Class: 4}, 2},
			{clients.RequestFilter{Class: 5}, 1},
			{clients.RequestFilter{ErrorCode: "bill_conflict"}, 1},
			{clients.RequestFilter{Class: 2, ErrorCode: "unauthorized"}, 0},
		} {
			if _, n, err := f.Clients.ClientRequests(ctx, "admissions", tt.f, 0, 20); err != nil || n != tt.want {
				t.Errorf("ClientRequests(%+v) = %d, %v; want %d", tt.f, n, err, tt.want)
			}
		}

		// Deliveries: bill numbers read from the payloads; counts by status.
		for i, st := range []string{clients.EventFailed, clients.EventDelivered, clients.EventPending} {
			billingtest.Insert(t, db, &store.Event{EventID: "evt_" + st, Client: "admissions", Type: "bill.paid", Status: st, NextAt: now, CreatedAt: now,
				Payload: `{"event_id":"evt_` + st + `","type":"bill.paid","data":{"bill":{"bill_no":"ADM-` + string(rune('1'+i)) + `"}}}`})
		}
		billingtest.Insert(t, db, &store.Event{EventID: "evt_other", Client: "donations", Type: "bill.paid", Status: clients.EventFailed, NextAt: now, CreatedAt: now, Payload: "not json"})
		rows, total, err := f.Clients.ClientDeliveries(ctx, "admissions", "", 0, 20)
		if err != nil || total != 3 || rows[0].BillNo != "ADM-3" || rows[2].BillNo != "ADM-1" || rows[2].StatusLabel() != "失败" {
			t.Errorf("ClientDeliveries = %d of %d, %v; want 3 newest first with bill numbers", len(rows), total, err)
		}
		if rows, _, _ := f.Clients.ClientDeliveries(ctx, "donations", clients.EventFailed, 0, 20); len(rows) != 1 || rows[0].BillNo != "" {
			t.Errorf("a payload that is not JSON: %+v, want one row without a bill number", rows)
		}
		counts, err := f.Clients.DeliveryCounts(ctx, "admissions")
		if err != nil || counts[clients.EventFailed] != 1 || counts[clients.EventDelivered] != 1 || counts[clients.EventPending] != 1 {
			t.Errorf("DeliveryCounts = %v, %v", counts, err)
		}

		// The list: last request and failed callbacks per client; keyword and state filters.
		list, total, err := f.Clients.ClientList(ctx, clients.ClientFilter{}, 0, 20)
		if err != nil || total != 2 || len(list) != 2 {
			t.Fatalf("ClientList = %d of %d, %v; want 2", len(list), total, err)
		}
		byApp := map[string]clients.ClientRow{}
		for _, r := range list {
			byApp[r.AppID] = r
		}
		if r := byApp["admissions"]; r.LastRequestAt == nil || !r.LastRequestAt.Equal(now.Add(4*time.Minute)) || r.FailedEvents != 1 {
			t.Errorf("admissions row: last request %v, failed %d; want %v and 1", r.LastRequestAt, r.FailedEvents, now.Add(4*time.Minute))
		}
		if r := byApp["donations"]; r.LastRequestAt != nil || r.FailedEvents != 1 || !r.Disabled {
			t.Errorf("donations row: last request %v, failed %d, disabled %v", r.LastRequestAt, r.FailedEvents, r.Disabled)
		}
		for _, tt := range []struct {
			f    clients.ClientFilter
			want string
		}{
			{clients.ClientFilter{Query: "招生"}, "admissions"},
			{clients.ClientFilter{Query: "donat"}, "donations"},
			{clients.ClientFilter{State: "disabled"}, "donations"},
			{clients.ClientFilter{State: "active"}, "admissions"},
		} {
			if got, n, err := f.Clients.ClientList(ctx, tt.f, 0, 20); err != nil || n != 1 || got[0].AppID != tt.want {
				t.Errorf("ClientList(%+v) = %d rows, %v; want %s", tt.f, n, err, tt.want)
			}
		}

		// Item choices: the approved ones, and the suspended one the client already has.
		choices, err := f.Clients.ClientItemChoices(ctx, clients.ItemCodes(adm))
		if err != nil || len(choices) != 2 {
			t.Fatalf("ClientItemChoices = %+v, %v; want TUITION-2026 and OLD-FEE", choices, err)
		}
		if plain, _ := f.Clients.ClientItemChoices(ctx, nil); len(plain) != 1 || plain[0].Code != f.Item.Code {
			t.Errorf("ClientItemChoices(nil) = %+v, want the approved item only", plain)
		}
		if got, err := f.Clients.ClientByID(ctx, adm.ID); err != nil || got.AppID != "admissions" {
			t.Errorf("ClientByID = %v, %v", got, err)
		}
		if _, err := f.Clients.ClientByID(ctx, 999999); err == nil {
			t.Errorf("ClientByID(missing) = nil error")
		}
	})
}
