package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/catalog"
	"campuspay/app/web"
	"campuspay/store"
)

// itemList lists charge items with filters (status, department for those who see them
// all, keyword). The toolbar's HTMX request (target #item-rows) gets the rows alone.
func (h *Handler) itemList(c *fiber.Ctx) error {
	p := auth.Current(c)
	pager := web.NewPager(c, 20)
	dept, _ := strconv.ParseInt(c.Query("dept"), 10, 64)
	items, total, err := h.Catalog.Items(c.UserContext(), catalog.ItemFilter{
		Scope: deptScope(p), DepartmentID: dept, Status: c.Query("status"), Q: c.Query("q"),
		Offset: pager.Offset(), Limit: pager.Size,
	})
	if err != nil {
		return err
	}
	pager.Total = total
	rows := make([]itemView, 0, len(items))
	for _, it := range items {
		rows = append(rows, viewItem(it))
	}
	data := fiber.Map{"Items": rows, "Pager": pager, "Q": c.Query("q"), "Status": c.Query("status"), "Dept": dept,
		"Statuses": itemStatuses, "CanCreate": p.Has(publishers...)}
	if web.IsPartial(c) && c.Get("HX-Target") == "item-rows" {
		return h.Render.Fragment(c, "console/_items_rows", data)
	}
	if deptScope(p) == nil {
		depts, err := h.Catalog.ItemDepartments(c.UserContext())
		if err != nil {
			return err
		}
		data["Departments"] = depts
	}
	return h.page(c, "console/items_list", "收费项目", data)
}

// itemStatuses are the status filter's choices.
var itemStatuses = []struct {
	Value store.ItemStatus
	Label string
}{
	{store.ItemDraft, "草稿"}, {store.ItemPending, "待审核"}, {store.ItemApproved, "已通过"},
	{store.ItemSuspended, "已暂停"}, {store.ItemRejected, "已驳回"}, {store.ItemClosed, "已关闭"},
}
