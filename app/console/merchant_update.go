package console

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/fault"
	"campuspay/app/web"
)

// merchantUpdate changes a merchant's name, department and note; its accounts stay.
func (h *Handler) merchantUpdate(c *fiber.Ctx) error {
	m, err := h.loadMerchant(c)
	if err != nil {
		return err
	}
	form := merchantInput(c)
	_, err = h.Merchants.UpdateMerchant(c.UserContext(), m.ID, form.Name, form.DepartmentID, form.Note, actor(c))
	var errs fault.FormErrors
	if errors.As(err, &errs) {
		form.Errors = errs
		return h.renderMerchant(c, m, form, nil)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, merchantPath(m.ID)+"?ok=updated")
}
