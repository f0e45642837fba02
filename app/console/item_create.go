package console

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/fault"
	"campuspay/app/web"
)

// itemCreate saves a new item as a draft (department staff: for their own department).
func (h *Handler) itemCreate(c *fiber.Ctx) error {
	p := auth.Current(c)
	in := itemInput(c)
	item, err := h.Catalog.CreateItem(c.UserContext(), in, deptScope(p), p.UserID, actor(c))
	var errs fault.FormErrors
	if errors.As(err, &errs) {
		return h.itemFormPage(c, nil, in, errs)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/items/"+strconv.FormatInt(item.ID, 10)+"?done=created")
}
