package billing

import (
	"testing"
	"time"

	"campuspay/store"
)

func TestCanMoveOrder(t *testing.T) {
	tests := []struct {
		from, to store.OrderStatus
		want     bool
	}{
		{store.OrderOpen, store.OrderPaid, true},
		{store.OrderOpen, store.OrderClosed, true},
		{store.OrderClosed, store.OrderPaid, true}, // a late payment
		{store.OrderClosed, store.OrderOpen, false},
		{store.OrderPaid, store.OrderClosed, false},
		{store.OrderPaid, store.OrderOpen, false},
		{store.OrderPaid, store.OrderPaid, false},
		{store.OrderOpen, store.OrderOpen, false},
	}
	for _, tt := range tests {
		if got := CanMoveOrder(tt.from, tt.to); got != tt.want {
			t.Errorf("CanMoveOrder(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestBillStatusOf(t *testing.T) {
	tests := []struct {
		due, paid, refunded int64
		cancelled           bool
		want                store.BillStatus
	}{
		{50000, 0, 0, false, store.BillUnpaid},
		{50000, 1, 0, false, store.BillPartial},
		{50000, 49999, 0, false, store.BillPartial},
		{50000, 50000, 0, false, store.BillPaid},
		{50000, 50000, 20000, false, store.BillPaid}, // partly refunded stays paid
		{50000, 50000, 50000, false, store.BillRefunded},
		{50000, 20000, 20000, false, store.BillRefunded},
		{50000, 0, 0, true, store.BillCancelled},
		{0, 0, 0, false, store.BillUnpaid},
	}
	for _, tt := range tests {
		if got := BillStatusOf(tt.due, tt.paid, tt.refunded, tt.cancelled); got != tt.want {
			t.Errorf("BillStatusOf(%d, %d, %d, %v) = %s, want %s", tt.due, tt.paid, tt.refunded, tt.cancelled, got, tt.want)
		}
	}
}

func TestPayable(t *testing.T) {
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	before, after := now.Add(-time.Hour), now.Add(time.Hour)
	tests := []struct {
		name string
		item store.ChargeItem
		ok   bool
	}{
		{"approved, no window", store.ChargeItem{Status: store.ItemApproved}, true},
		{"approved, inside window", store.ChargeItem{Status: store.ItemApproved, OpensAt: &before, ClosesAt: &after}, true},
		{"not yet open", store.ChargeItem{Status: store.ItemApproved, OpensAt: &after}, false},
		{"closed at now", store.ChargeItem{Status: store.ItemApproved, ClosesAt: &now}, false},
		{"suspended", store.ChargeItem{Status: store.ItemSuspended}, false},
		{"pending", store.ChargeItem{Status: store.ItemPending}, false},
		{"closed", store.ChargeItem{Status: store.ItemClosed}, false},
	}
	for _, tt := range tests {
		if got := Payable(&tt.item, now) == ""; got != tt.ok {
			t.Errorf("%s: Payable = %q, want payable %v", tt.name, Payable(&tt.item, now), tt.ok)
		}
	}
}
