package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/catalog"
	"campuspay/app/fault"
	"campuspay/app/web"
	"campuspay/store"
)

// itemInput reads the item form.
func itemInput(c *fiber.Ctx) catalog.ItemInput {
	dept, _ := strconv.ParseInt(c.FormValue("department_id"), 10, 64)
	var merchant int64 // not sent: the school's on a new item, unchanged on an edit
	if raw := c.FormValue("merchant_id"); raw != "" {
		if merchant, _ = strconv.ParseInt(raw, 10, 64); merchant <= 0 {
			merchant = -1 // no such merchant: catalog says so beside the field
		}
	}
	return catalog.ItemInput{
		Code: c.FormValue("code"), Name: c.FormValue("name"), DepartmentID: dept, MerchantID: merchant,
		Category: c.FormValue("category"), Audience: c.FormValue("audience"), Pricing: c.FormValue("pricing"),
		Price: c.FormValue("price"), Min: c.FormValue("min"), Max: c.FormValue("max"),
		OpensAt: c.FormValue("opens_at"), ClosesAt: c.FormValue("closes_at"),
		PartialAllowed: c.FormValue("partial_allowed") == "true", RefundableUntil: c.FormValue("refundable_until"),
		Description: c.FormValue("description"),
	}
}

// itemFormPage renders the new or edit form, with field errors when there are some
// (status 422 for a page, 200 for an HTMX swap, which htmx only makes of 2xx answers).
func (h *Handler) itemFormPage(c *fiber.Ctx, item *store.ChargeItem, in catalog.ItemInput, errs fault.FormErrors) error {
	data := fiber.Map{"Form": in, "Errors": errs, "Categories": catalog.Categories, "PickDept": deptScope(auth.Current(c)) == nil}
	title, action := "新建收费项目", "/console/items"
	if item != nil {
		title, action = "修改收费项目", "/console/items/"+strconv.FormatInt(item.ID, 10)
		data["Item"] = viewItem(item)
	}
	data["Action"] = action
	merchants, err := h.Catalog.ItemMerchants(c.UserContext())
	if err != nil {
		return err
	}
	data["Merchants"] = merchants
	if data["PickDept"] == true {
		depts, err := h.Catalog.ItemDepartments(c.UserContext())
		if err != nil {
			return err
		}
		data["Departments"] = depts
	}
	if len(errs) > 0 && c.Get(web.HeaderHXRequest) != "true" {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return h.page(c, "console/items_form", title, data)
}
