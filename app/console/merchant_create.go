package console

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/fault"
	"campuspay/app/web"
)

// merchantCreate adds a merchant and opens its page, where finance configures its
// accounts; a refused form comes back with its errors beside the fields.
func (h *Handler) merchantCreate(c *fiber.Ctx) error {
	form := merchantInput(c)
	m, err := h.Merchants.CreateMerchant(c.UserContext(), form.Name, form.DepartmentID, form.Note, actor(c))
	var errs fault.FormErrors
	if errors.As(err, &errs) {
		form.Errors = errs
		return h.renderMerchants(c, form)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, merchantPath(m.ID)+"?ok=created")
}
