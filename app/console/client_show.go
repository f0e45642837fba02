package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/store"
)

// clientShow shows a business system: what it may do, its callbacks at a glance, the
// actions finance may take, and how it signs its requests.
func (h *Handler) clientShow(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	counts, err := h.Billing.DeliveryCounts(c.UserContext(), cl.AppID)
	if err != nil {
		return err
	}
	choices, err := h.Billing.ClientItemChoices(c.UserContext(), billing.ItemCodes(cl))
	if err != nil {
		return err
	}
	var items []billing.ClientItemChoice
	for _, it := range choices {
		if cl.Allows(it.Code) {
			items = append(items, it)
		}
	}
	return h.page(c, "console/clients_show", cl.Name, fiber.Map{
		"Client": cl, "Items": items, "Counts": counts, "Tab": "show", "BaseURL": h.BaseURL,
		"CanManage": auth.Current(c).Has(store.RoleFinance), "Flash": clientFlash[c.Query("ok")],
	})
}
