package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/bizday"
	"campuspay/app/web"
	"campuspay/store"
)

// auditList searches the audit log (read only): by actor, action prefix, target, and a
// range of days; newest first.
func (h *Handler) auditList(c *fiber.Ctx) error {
	pager := web.NewPager(c, 50)
	f := store.AuditFilter{Actor: c.Query("actor"), ActionPrefix: c.Query("action"), TargetType: c.Query("target_type"),
		TargetID: c.Query("target_id"), Offset: pager.Offset(), Limit: pager.Size}
	from, to, msg := dayRange(c.Query("from"), c.Query("to"))
	f.From, f.To = from, to
	rows, total, err := store.AuditLogs(c.UserContext(), h.Billing.DB, f)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/audit", "审计日志", fiber.Map{
		"Rows": rows, "Pager": pager, "Filter": f, "Targets": auditTargets, "From": c.Query("from"), "To": c.Query("to"), "DateError": msg,
	})
}

// auditTargets are the record types the audit log names, for the filter.
var auditTargets = []statusChoice{
	{"user", "用户"}, {"department", "部门"}, {"setting", "系统参数"}, {"payer", "缴费人"}, {"roster", "名册"},
	{"item", "收费项目"}, {"bill", "账单"}, {"order", "订单"}, {"refund", "退款"}, {"receipt", "票据"}, {"client", "接入系统"},
}

// dayRange turns two business days (YYYY-MM-DD, either may be empty) into the instants
// [from 00:00, the day after to 00:00) in Asia/Shanghai. A day that does not parse is
// ignored, with a message.
func dayRange(fromDay, toDay string) (from, to time.Time, msg string) {
	parse := func(s string) (time.Time, bool) {
		if s == "" {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation("2006-01-02", s, bizday.Shanghai)
		return t, err == nil
	}
	from, ok1 := parse(fromDay)
	to, ok2 := parse(toDay)
	if !ok1 || !ok2 {
		msg = "日期格式应为 YYYY-MM-DD，已忽略无法识别的日期"
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	return from, to, msg
}
