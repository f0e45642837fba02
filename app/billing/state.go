package billing

import (
	"time"

	"campuspay/app/bizday"
	"campuspay/store"
)

// orderTransitions lists, for each order status, the statuses it may move to.
// closed → paid is a late payment: the channel took money after the order expired. The
// order records it (so that the payer's history and reconciliation see the money); the bills
// are credited only as far as they are still due, the rest becomes an overpayment.
var orderTransitions = map[store.OrderStatus][]store.OrderStatus{
	store.OrderOpen:   {store.OrderPaid, store.OrderClosed},
	store.OrderClosed: {store.OrderPaid},
	store.OrderPaid:   {},
}

// CanMoveOrder reports whether an order may go from one status to another.
func CanMoveOrder(from, to store.OrderStatus) bool {
	for _, s := range orderTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// BillStatusOf derives a bill's status from its amounts.
func BillStatusOf(dueFen, paidFen, refundedFen int64, cancelled bool) store.BillStatus {
	switch {
	case cancelled:
		return store.BillCancelled
	case paidFen > 0 && refundedFen >= paidFen:
		return store.BillRefunded
	case paidFen >= dueFen && paidFen > 0:
		return store.BillPaid
	case paidFen > 0:
		return store.BillPartial
	default:
		return store.BillUnpaid
	}
}

// Payable reports why an item takes no payment at t, or "" when it does.
func Payable(item *store.ChargeItem, t time.Time) string {
	switch {
	case item.Status != store.ItemApproved:
		return "收费项目「" + item.Name + "」当前不可缴费"
	case item.OpensAt != nil && t.Before(*item.OpensAt):
		return "收费项目「" + item.Name + "」尚未开始缴费（" + item.OpensAt.In(bizday.Shanghai).Format("2006-01-02 15:04") + " 开始）"
	case item.ClosesAt != nil && !t.Before(*item.ClosesAt):
		return "收费项目「" + item.Name + "」已截止缴费"
	}
	return ""
}

// BillStatusLabel is a bill status as payers read it.
func BillStatusLabel(s store.BillStatus) string {
	switch s {
	case store.BillUnpaid:
		return "待缴"
	case store.BillPartial:
		return "部分已缴"
	case store.BillPaid:
		return "已缴清"
	case store.BillRefunded:
		return "已退款"
	case store.BillCancelled:
		return "已取消"
	}
	return string(s)
}

// OrderStatusLabel is an order status as payers read it.
func OrderStatusLabel(s store.OrderStatus) string {
	switch s {
	case store.OrderOpen:
		return "待支付"
	case store.OrderPaid:
		return "已支付"
	case store.OrderClosed:
		return "已关闭"
	}
	return string(s)
}
