package console

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/fault"
	"campuspay/app/web"
)

// itemUpdate saves the form of a draft or rejected item.
func (h *Handler) itemUpdate(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	in := itemInput(c)
	_, err = h.Catalog.UpdateItem(c.UserContext(), item.ID, in, deptScope(auth.Current(c)), actor(c))
	var errs fault.FormErrors
	if errors.As(err, &errs) {
		return h.itemFormPage(c, item, in, errs)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, "/console/items/"+strconv.FormatInt(item.ID, 10)+"?done=updated")
}
