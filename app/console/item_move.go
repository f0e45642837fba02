package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/catalog"
	"campuspay/app/web"
)

// moveItem makes event happen to the item in the URL and goes back to its page. Who may
// ask is settled by the route; whether the item's status allows it, by billing.
func (h *Handler) moveItem(c *fiber.Ctx, event catalog.ItemEvent) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	item, err := h.Catalog.MoveItem(c.UserContext(), id, event, c.FormValue("reason"), deptScope(auth.Current(c)), actor(c))
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/items/"+strconv.FormatInt(item.ID, 10)+"?done="+string(event))
}
