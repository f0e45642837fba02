package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/catalog"
	"campuspay/store"
)

// itemView is an item with the labels its pages show.
type itemView struct {
	*store.ChargeItem
	StatusLabel   string
	CategoryLabel string
	AudienceLabel string
	PricingLabel  string
	Editable      bool
	Open          bool // off-campus payers may pay it from a poster
}

func viewItem(it *store.ChargeItem) itemView {
	return itemView{
		ChargeItem: it, StatusLabel: catalog.ItemStatusLabel(it.Status), CategoryLabel: catalog.CategoryLabel(it.Category),
		AudienceLabel: catalog.AudienceLabel(it.Audience), PricingLabel: catalog.PricingLabel(it.Pricing),
		Editable: catalog.ItemEditable(it.Status),
		Open:     it.Status == store.ItemApproved && it.Audience != store.AudienceInternal && it.Pricing != store.PricingPerBill,
	}
}

// itemAction is a button on the item page: the event it posts, and how it is worded.
type itemAction struct {
	Event   catalog.ItemEvent
	Verb    string // the route: /console/items/:id/<verb>
	Label   string
	Confirm string
	Class   string
}

// itemActions are the moves the principal may make on the item now.
func itemActions(p *auth.Principal, it *store.ChargeItem) []itemAction {
	all := []struct {
		action itemAction
		roles  []string
	}{
		{itemAction{catalog.ItemSubmitted, "submit", "提交审核", "提交后由财务处审核，审核期间不能修改。确定提交？", "btn-primary"}, publishers},
		{itemAction{catalog.ItemApproved, "approve", "审核通过", "确定审核通过该收费项目？", "btn-primary"}, finance},
		{itemAction{catalog.ItemSuspended, "suspend", "暂停收费", "暂停后缴费人将无法缴费。确定暂停？", "btn-secondary"}, finance},
		{itemAction{catalog.ItemResumed, "resume", "恢复收费", "确定恢复收费？", "btn-primary"}, finance},
		{itemAction{catalog.ItemClosed, "close", "关闭项目", "关闭后不能再缴费，也不能重新开启。确定关闭？", "btn-danger"}, finance},
	}
	var out []itemAction
	for _, a := range all {
		if p.Has(a.roles...) && catalog.ItemCanDo(it.Status, a.action.Event) {
			out = append(out, a.action)
		}
	}
	return out
}

// timelineEntry is one line of an item's history.
type timelineEntry struct {
	At     time.Time
	Actor  string
	Label  string
	Detail string
}

func itemTimeline(rows []*store.AuditLog) []timelineEntry {
	out := make([]timelineEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, timelineEntry{At: r.At, Actor: r.Actor, Label: catalog.ItemEventLabel(r.Action), Detail: r.Detail})
	}
	return out
}

// loadItem loads the item in the URL (":id") within the principal's department scope.
func (h *Handler) loadItem(c *fiber.Ctx) (*store.ChargeItem, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	return h.Catalog.Item(c.UserContext(), id, deptScope(auth.Current(c)))
}

// itemFlashes are the messages a redirect after an action may ask for (?done=…): only these
// texts are ever shown, never what the query says.
var itemFlashes = map[string]string{
	"created":   "收费项目已保存为草稿",
	"updated":   "修改已保存",
	"submitted": "已提交财务处审核",
	"approved":  "已审核通过",
	"rejected":  "已驳回",
	"suspended": "已暂停收费",
	"resumed":   "已恢复收费",
	"closed":    "项目已关闭",
	"cancelled": "账单已取消",
	"added":     "账单已添加",
}
