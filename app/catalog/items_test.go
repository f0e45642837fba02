package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"campuspay/app/billing/billingtest"
	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/store"
	"campuspay/store/storetest"
)

func TestItemLifecycleIsGuardedAndAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 0)
		ctx := context.Background()
		own := &f.Dept
		in := billingtest.ItemForm("TRAIN-2026")
		in.DepartmentID = f.Other // a department user can't pick another department
		item, err := f.Catalog.CreateItem(ctx, in, own, 0, "dept_cwc")
		if err != nil {
			t.Fatal(err)
		}
		if item.Status != store.ItemDraft || item.DepartmentID != f.Dept {
			t.Fatalf("created item = %s in department %d, want a draft of department %d", item.Status, item.DepartmentID, f.Dept)
		}
		if _, err := f.Catalog.Item(ctx, item.ID, &f.Other); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("Item from another department = %v, want not found", err)
		}
		if _, err := f.Catalog.MoveItem(ctx, item.ID, catalog.ItemApproved, "", nil, "finance"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("approve a draft = %v, want conflict", err)
		}
		if _, err := f.Catalog.MoveItem(ctx, item.ID, catalog.ItemSubmitted, "", &f.Other, "dept_jwc"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("submit from another department = %v, want not found", err)
		}
		mustMove(t, f, item.ID, catalog.ItemSubmitted, "")
		if _, err := f.Catalog.UpdateItem(ctx, item.ID, billingtest.ItemForm("TRAIN-2026"), own, "dept_cwc"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("edit a pending item = %v, want conflict", err)
		}
		if _, err := f.Catalog.MoveItem(ctx, item.ID, catalog.ItemRejected, "  ", nil, "finance"); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("reject without a reason = %v, want invalid", err)
		}
		mustMove(t, f, item.ID, catalog.ItemRejected, "价格需与物价局批复一致")
		edited := billingtest.ItemForm("TRAIN-2026")
		edited.Name = "2026年暑期培训费（修订）"
		if _, err := f.Catalog.UpdateItem(ctx, item.ID, edited, own, "dept_cwc"); err != nil {
			t.Fatalf("edit a rejected item: %v", err)
		}
		for _, step := range []struct {
			ev   catalog.ItemEvent
			want store.ItemStatus
		}{
			{catalog.ItemSubmitted, store.ItemPending}, {catalog.ItemApproved, store.ItemApproved},
			{catalog.ItemSuspended, store.ItemSuspended}, {catalog.ItemResumed, store.ItemApproved},
			{catalog.ItemClosed, store.ItemClosed},
		} {
			if got := mustMove(t, f, item.ID, step.ev, ""); got.Status != step.want {
				t.Fatalf("after %s status = %s, want %s", step.ev, got.Status, step.want)
			}
		}
		if _, err := f.Catalog.MoveItem(ctx, item.ID, catalog.ItemResumed, "", nil, "finance"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("resume a closed item = %v, want conflict", err)
		}
		timeline, err := f.Catalog.ItemTimeline(ctx, item.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range timeline {
			actions = append(actions, a.Action)
		}
		want := []string{"item.created", "item.submitted", "item.rejected", "item.updated", "item.submitted", "item.approved", "item.suspended", "item.resumed", "item.closed"}
		if len(actions) != len(want) {
			t.Fatalf("timeline = %v, want %v", actions, want)
		}
		for i := range want {
			if actions[i] != want[i] {
				t.Fatalf("timeline = %v, want %v", actions, want)
			}
		}
		if timeline[2].Detail != "价格需与物价局批复一致" {
			t.Errorf("rejection detail = %q, want the reason", timeline[2].Detail)
		}
	})
}

func mustMove(t *testing.T, f *billingtest.ItemFixture, id int64, ev catalog.ItemEvent, reason string) *store.ChargeItem {
	t.Helper()
	item, err := f.Catalog.MoveItem(context.Background(), id, ev, reason, nil, "finance")
	if err != nil {
		t.Fatalf("%s: %v", ev, err)
	}
	return item
}

func TestItemFormValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 0)
		tests := []struct {
			name  string
			edit  func(in *catalog.ItemInput)
			field string
		}{
			{"lower-case code", func(in *catalog.ItemInput) { in.Code = "ab" }, ""}, // upper-cased: fine
			{"bad code", func(in *catalog.ItemInput) { in.Code = "A B" }, "code"},
			{"code taken", func(in *catalog.ItemInput) { in.Code = "TUITION-2026" }, "code"},
			{"no name", func(in *catalog.ItemInput) { in.Name = " " }, "name"},
			{"bad category", func(in *catalog.ItemInput) { in.Category = "fun" }, "category"},
			{"bad audience", func(in *catalog.ItemInput) { in.Audience = "" }, "audience"},
			{"fixed without price", func(in *catalog.ItemInput) { in.Pricing = "fixed" }, "price"},
			{"fixed at 12.345", func(in *catalog.ItemInput) { in.Pricing, in.Price = "fixed", "12.345" }, "price"},
			{"fixed at 0", func(in *catalog.ItemInput) { in.Pricing, in.Price = "fixed", "0" }, "price"},
			{"bounds reversed", func(in *catalog.ItemInput) { in.Pricing, in.Min, in.Max = "payer_entered", "100", "10" }, "max"},
			{"window reversed", func(in *catalog.ItemInput) { in.OpensAt, in.ClosesAt = "2026-12-01T08:00", "2026-11-01T08:00" }, "closes_at"},
			{"bad time", func(in *catalog.ItemInput) { in.RefundableUntil = "明年" }, "refundable_until"},
			{"long description", func(in *catalog.ItemInput) { in.Description = string(make([]rune, 1001)) }, "description"},
			{"no department", func(in *catalog.ItemInput) { in.DepartmentID = 0 }, "department_id"},
		}
		for i, tt := range tests {
			in := billingtest.ItemForm("V" + string(rune('A'+i)) + "-2026")
			in.DepartmentID = f.Dept
			tt.edit(&in)
			_, err := f.Catalog.CreateItem(context.Background(), in, nil, 0, "finance")
			var fe fault.FormErrors
			if tt.field == "" {
				if err != nil {
					t.Errorf("%s: CreateItem = %v, want it accepted", tt.name, err)
				}
				continue
			}
			if !errors.As(err, &fe) || fe[tt.field] == "" {
				t.Errorf("%s: CreateItem = %v, want an error on %s", tt.name, err, tt.field)
			}
		}
	})
}
