package console

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/money"
	"campuspay/app/reports"
)

// searchSheet is how one search is exported: its header, a check that it is not too large,
// and its rows followed by a totals row.
type searchSheet struct {
	header []string
	check  func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter) error
	rows   func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter, yield func([]any) error) error
}

func formatTime(t time.Time) string { return t.In(bizday.Shanghai).Format("2006-01-02 15:04:05") }

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

func countNote(n int64, unit string) string { return strconv.FormatInt(n, 10) + " " + unit }

var searchExports = map[string]searchSheet{
	"payments": {
		header: []string{"支付时间", "渠道交易号", "订单号", "缴费人", "学号/工号", "收费项目", "部门", "支付方式", "支付金额（元）", "入账金额（元）", "溢缴金额（元）", "超时到账"},
		check: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter) error {
			t, err := b.SumPayments(c.UserContext(), reports.PaymentSearch{SearchFilter: f})
			if err != nil {
				return err
			}
			return reports.CheckExportSize(t.Count)
		},
		rows: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter, yield func([]any) error) error {
			t, err := b.EachPayment(c.UserContext(), reports.PaymentSearch{SearchFilter: f}, func(r reports.PaymentSearchRow) error {
				return yield([]any{formatTime(r.PaidAt), r.TradeNo, r.OrderNo, r.PayerName, r.PayerNo, r.ItemName, r.Department,
					billing.ChannelLabel(r.Channel), money.Plain(r.AmountFen), money.Plain(r.CreditedFen), money.Plain(r.OverpaidFen()), yesNo(r.Late)})
			})
			if err != nil {
				return err
			}
			return yield([]any{"合计", countNote(t.Count, "笔"), countNote(t.Payments, "次支付"), "", "", "", "", "",
				money.Plain(t.AmountFen), money.Plain(t.CreditedFen), money.Plain(t.OverpaidFen), ""})
		},
	},
	"orders": {
		header: []string{"下单时间", "订单号", "缴费人", "学号/工号", "收费项目", "项数", "支付方式", "金额（元）", "状态", "支付时间"},
		check: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter) error {
			t, err := b.SumOrders(c.UserContext(), reports.OrderSearch{SearchFilter: f})
			if err != nil {
				return err
			}
			return reports.CheckExportSize(t.Count)
		},
		rows: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter, yield func([]any) error) error {
			t, err := b.EachOrder(c.UserContext(), reports.OrderSearch{SearchFilter: f}, func(r reports.OrderSearchRow) error {
				return yield([]any{formatTime(r.CreatedAt), r.OrderNo, r.PayerName, r.PayerNo, r.ItemName, r.Lines,
					billing.ChannelLabel(r.Channel), money.Plain(r.AmountFen), billing.OrderStatusLabel(r.Status), formatTimePtr(r.PaidAt)})
			})
			if err != nil {
				return err
			}
			return yield([]any{"合计", countNote(t.Count, "笔"), "", "", "", "", "", money.Plain(t.AmountFen), "其中已支付 " + money.Plain(t.PaidFen), ""})
		},
	},
	"bills": {
		header: []string{"开单时间", "款项编号", "缴费人", "学号/工号", "收费项目", "部门", "应缴（元）", "已缴（元）", "已退（元）", "待缴（元）", "状态", "缴清时间"},
		check: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter) error {
			t, err := b.SumBills(c.UserContext(), reports.BillSearch{SearchFilter: f})
			if err != nil {
				return err
			}
			return reports.CheckExportSize(t.Count)
		},
		rows: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter, yield func([]any) error) error {
			t, err := b.EachBill(c.UserContext(), reports.BillSearch{SearchFilter: f}, func(r reports.BillSearchRow) error {
				return yield([]any{formatTime(r.CreatedAt), r.BillNo, r.PayerName, r.PayerNo, r.ItemName, r.Department,
					money.Plain(r.AmountDueFen), money.Plain(r.AmountPaidFen), money.Plain(r.AmountRefundedFen), money.Plain(r.OutstandingFen()),
					billing.BillStatusLabel(r.Status), formatTimePtr(r.PaidAt)})
			})
			if err != nil {
				return err
			}
			return yield([]any{"合计", countNote(t.Count, "笔"), "", "", "", "", money.Plain(t.DueFen), money.Plain(t.PaidFen),
				money.Plain(t.RefundedFen), money.Plain(t.OutstandingFen), "", ""})
		},
	},
	"refunds": {
		header: []string{"申请时间", "退款单号", "订单号", "缴费人", "学号/工号", "收费项目", "部门", "退款渠道", "金额（元）", "原因", "状态", "申请人", "完成时间"},
		check: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter) error {
			t, err := b.SumRefunds(c.UserContext(), reports.RefundSearch{SearchFilter: f})
			if err != nil {
				return err
			}
			return reports.CheckExportSize(t.Count)
		},
		rows: func(c *fiber.Ctx, b *reports.Service, f reports.SearchFilter, yield func([]any) error) error {
			t, err := b.EachRefund(c.UserContext(), reports.RefundSearch{SearchFilter: f}, func(r reports.RefundSearchRow) error {
				return yield([]any{formatTime(r.RequestedAt), r.RefundNo, r.OrderNo, r.PayerName, r.PayerNo, r.ItemName, r.Department,
					billing.ChannelLabel(r.Channel), money.Plain(r.AmountFen), r.Reason, r.StatusLabel(), r.RequestedBy, formatTimePtr(r.FinishedAt)})
			})
			if err != nil {
				return err
			}
			return yield([]any{"合计", countNote(t.Count, "笔"), "", "", "", "", "", "", money.Plain(t.AmountFen), "其中已退 " + money.Plain(t.SucceededFen), "", "", ""})
		},
	},
}
