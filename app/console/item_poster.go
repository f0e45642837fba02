package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// itemPoster sends staff to the printable poster of an item open to off-campus payers
// (the cashier serves it, since payers scan what it shows).
func (h *Handler) itemPoster(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	if !viewItem(item).Open {
		return fiber.NewError(fiber.StatusConflict, "只有已通过、面向校外且金额固定或自填的项目才有缴费海报")
	}
	return web.Redirect(c, "/i/"+item.Code+"/poster")
}
