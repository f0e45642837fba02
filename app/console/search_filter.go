package console

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/bizday"
	"campuspay/app/reports"
)

// searchKinds are the searches /console/search/:kind offers, with their titles.
var searchKinds = map[string]string{
	"orders":   "订单查询",
	"payments": "支付流水",
	"bills":    "应缴款项查询",
	"refunds":  "退款查询",
}

// searchDates names the day each search filters on, and searchNotes says what its rows are.
var (
	searchDates = map[string]string{"orders": "下单日期", "payments": "支付日期", "bills": "开单日期", "refunds": "申请日期"}
	searchNotes = map[string]string{
		"orders":   "金额为订单中符合项目、部门条件的款项之和。",
		"payments": "一次支付缴多个项目时按项目分行；入账金额即实收（不含溢缴款），与数据看板的收款一致。",
		"bills":    "待缴 = 应缴 − 已缴（已取消的款项不计待缴）。",
		"refunds":  "“已退”为退款成功的金额。",
	}
)

// option is one choice of a select.
type option struct{ Value, Label string }

// searchStatuses are the status choices of each search.
var searchStatuses = map[string][]option{
	"orders":   {{"open", "待支付"}, {"paid", "已支付"}, {"closed", "已关闭"}},
	"payments": {{reports.PaymentCredited, "正常入账"}, {reports.PaymentLate, "超时到账"}, {reports.PaymentOverpaid, "含溢缴"}},
	"bills":    {{"unpaid", "待缴"}, {"partial", "部分已缴"}, {"paid", "已缴清"}, {"refunded", "已退款"}, {"cancelled", "已取消"}},
	"refunds": {{"pending", "待审核"}, {"approved", "已通过"}, {"processing", "处理中"}, {"succeeded", "退款成功"},
		{"failed", "退款失败"}, {"rejected", "已驳回"}},
}

// defaultDays is how many days back a search looks when the form has not been sent yet
// (bills: every day).
var defaultDays = map[string]int{"orders": 30, "payments": 30, "refunds": 30}

// searchForm is a search's filter as the form shows it.
type searchForm struct {
	Payer, Item, Department, Channel, Status, From, To string
}

// Query is the filter as a query string, for the export link.
func (f searchForm) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"payer": f.Payer, "item": f.Item, "department": f.Department,
		"channel": f.Channel, "status": f.Status, "from": f.From, "to": f.To} {
		q.Set(k, v)
	}
	return q.Encode()
}

// searchFilter reads the filter of a search of kind from the query string, confined to the
// caller's department. A first visit (no from/to in the address) looks at the last days.
func (h *Handler) searchFilter(c *fiber.Ctx, kind string, now time.Time) (reports.SearchFilter, searchForm, error) {
	form := searchForm{
		Payer: strings.TrimSpace(c.Query("payer")), Item: c.Query("item"), Department: c.Query("department"),
		Channel: c.Query("channel"), Status: c.Query("status"), From: c.Query("from"), To: c.Query("to"),
	}
	args := c.Request().URI().QueryArgs()
	if n := defaultDays[kind]; n > 0 && !args.Has("from") && !args.Has("to") {
		today := bizday.DayOf(now)
		form.From, form.To = today.AddDate(0, 0, -(n-1)).Format("2006-01-02"), today.Format("2006-01-02")
	}
	f := reports.SearchFilter{Scope: deptScope(auth.Current(c)), Payer: form.Payer, Channel: form.Channel, Status: form.Status}
	f.ItemID, _ = strconv.ParseInt(form.Item, 10, 64)
	f.DepartmentID, _ = strconv.ParseInt(form.Department, 10, 64)
	var err error
	if f.From, err = bizday.ParseDay(form.From); err != nil {
		return f, form, err
	}
	if f.To, err = bizday.ParseDay(form.To); err != nil {
		return f, form, err
	}
	return f, form, nil
}
