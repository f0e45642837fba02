package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/clients"
	"campuspay/app/web"
	"campuspay/store"
)

// clientList lists the business systems: search by name or app id, filter by state.
func (h *Handler) clientList(c *fiber.Ctx) error {
	pager := web.NewPager(c, 20)
	f := clients.ClientFilter{Query: c.Query("q"), State: c.Query("state")}
	rows, total, err := h.Clients.ClientList(c.UserContext(), f, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/clients_list", "接入系统", fiber.Map{
		"Clients": rows, "Pager": pager, "Q": f.Query, "State": f.State,
		"CanManage": auth.Current(c).Has(store.RoleFinance),
	})
}
