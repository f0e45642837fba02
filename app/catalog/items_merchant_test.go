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

func TestItemNamesItsMerchant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := billingtest.NewItemFixture(t, db, 0)
		ctx := context.Background()
		now := f.Clock.Now()
		other := &store.Merchant{Name: "继续教育学院", CreatedAt: now, UpdatedAt: now}
		billingtest.Insert(t, db, other)

		// Without a merchant, an item collects into the school's.
		in := billingtest.ItemForm("MER-A")
		in.DepartmentID = f.Dept
		item, err := f.Catalog.CreateItem(ctx, in, nil, 0, "finance")
		if err != nil {
			t.Fatal(err)
		}
		if item.MerchantID != store.DefaultMerchantID {
			t.Errorf("item without a merchant: MerchantID = %d, want %d", item.MerchantID, store.DefaultMerchantID)
		}

		in = billingtest.ItemForm("MER-B")
		in.DepartmentID, in.MerchantID = f.Dept, other.ID
		item, err = f.Catalog.CreateItem(ctx, in, nil, 0, "finance")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.Catalog.Item(ctx, item.ID, nil); err != nil || got.MerchantID != other.ID {
			t.Fatalf("stored item = %+v, %v; want merchant %d", got, err, other.ID)
		}
		if m, err := f.Catalog.ItemMerchant(ctx, item); err != nil || m.Name != "继续教育学院" {
			t.Errorf("ItemMerchant = %+v, %v; want 继续教育学院", m, err)
		}
		if edit := catalog.InputOf(item); edit.MerchantID != other.ID {
			t.Errorf("InputOf(item).MerchantID = %d, want %d", edit.MerchantID, other.ID)
		}

		// A merchant that does not exist is refused beside its field, on create and on edit,
		// and the item keeps its merchant.
		in = billingtest.ItemForm("MER-C")
		in.DepartmentID, in.MerchantID = f.Dept, 999999
		var fe fault.FormErrors
		if _, err := f.Catalog.CreateItem(ctx, in, nil, 0, "finance"); !errors.As(err, &fe) || fe["merchant_id"] == "" {
			t.Errorf("CreateItem with merchant 999999 = %v, want an error on merchant_id", err)
		}
		edit := catalog.InputOf(item)
		edit.MerchantID = 999999
		if _, err := f.Catalog.UpdateItem(ctx, item.ID, edit, nil, "finance"); !errors.As(err, &fe) || fe["merchant_id"] == "" {
			t.Errorf("UpdateItem with merchant 999999 = %v, want an error on merchant_id", err)
		}
		if got, _ := f.Catalog.Item(ctx, item.ID, nil); got.MerchantID != other.ID {
			t.Errorf("after the refused edit MerchantID = %d, want %d", got.MerchantID, other.ID)
		}
		edit.MerchantID = store.DefaultMerchantID
		if _, err := f.Catalog.UpdateItem(ctx, item.ID, edit, nil, "finance"); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.Catalog.Item(ctx, item.ID, nil); got.MerchantID != store.DefaultMerchantID {
			t.Errorf("after the edit MerchantID = %d, want %d", got.MerchantID, store.DefaultMerchantID)
		}

		list, err := f.Catalog.ItemMerchants(ctx)
		if err != nil || len(list) != 2 || list[0].ID != store.DefaultMerchantID || list[1].Name != "继续教育学院" {
			t.Errorf("ItemMerchants = %v, %v; want the school's, then 继续教育学院", list, err)
		}
	})
}
