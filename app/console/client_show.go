package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/clients"
	"campuspay/store"
)

// clientShow shows a business system: what it may do, its callbacks at a glance, the
// actions finance may take, and how it signs its requests.
func (h *Handler) clientShow(c *fiber.Ctx) error {
	cl, err := h.loadClient(c)
	if err != nil {
		return err
	}
	counts, err := h.Clients.DeliveryCounts(c.UserContext(), cl.AppID)
	if err != nil {
		return err
	}
	choices, err := h.Clients.ClientItemChoices(c.UserContext(), clients.ItemCodes(cl))
	if err != nil {
		return err
	}
	var items []clients.ClientItemChoice
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
