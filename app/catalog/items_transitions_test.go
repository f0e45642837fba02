package catalog

import (
	"testing"

	"campuspay/store"
)

func TestItemTransitions(t *testing.T) {
	all := []store.ItemStatus{store.ItemDraft, store.ItemPending, store.ItemApproved, store.ItemSuspended, store.ItemClosed, store.ItemRejected}
	allowed := map[[2]store.ItemStatus]ItemEvent{
		{store.ItemDraft, store.ItemPending}:      ItemSubmitted,
		{store.ItemRejected, store.ItemPending}:   ItemSubmitted,
		{store.ItemPending, store.ItemApproved}:   ItemApproved,
		{store.ItemPending, store.ItemRejected}:   ItemRejected,
		{store.ItemApproved, store.ItemSuspended}: ItemSuspended,
		{store.ItemSuspended, store.ItemApproved}: ItemResumed,
		{store.ItemApproved, store.ItemClosed}:    ItemClosed,
		{store.ItemSuspended, store.ItemClosed}:   ItemClosed,
	}
	// Every pair of statuses: the allowed moves and nothing else.
	for _, from := range all {
		for _, to := range all {
			want, ok := allowed[[2]store.ItemStatus{from, to}]
			got, gotOK := CanMoveItem(from, to)
			if gotOK != ok || got != want {
				t.Errorf("CanMoveItem(%s, %s) = %q, %v; want %q, %v", from, to, got, gotOK, want, ok)
			}
		}
	}
	// Every event from every status: allowed exactly where the table says.
	events := []ItemEvent{ItemSubmitted, ItemApproved, ItemRejected, ItemSuspended, ItemResumed, ItemClosed}
	for _, from := range all {
		for _, ev := range events {
			want := false
			for pair, e := range allowed {
				want = want || (pair[0] == from && e == ev)
			}
			if got := ItemCanDo(from, ev); got != want {
				t.Errorf("ItemCanDo(%s, %s) = %v, want %v", from, ev, got, want)
			}
		}
	}
}

func TestItemEditable(t *testing.T) {
	for s, want := range map[store.ItemStatus]bool{
		store.ItemDraft: true, store.ItemRejected: true, store.ItemPending: false,
		store.ItemApproved: false, store.ItemSuspended: false, store.ItemClosed: false,
	} {
		if got := ItemEditable(s); got != want {
			t.Errorf("ItemEditable(%s) = %v, want %v", s, got, want)
		}
	}
}
