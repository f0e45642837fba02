package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
)

// itemNew shows an empty item form.
func (h *Handler) itemNew(c *fiber.Ctx) error {
	in := billing.ItemInput{Audience: "internal", Pricing: "fixed", Category: "other"}
	if scope := deptScope(auth.Current(c)); scope != nil {
		in.DepartmentID = *scope
	}
	return h.itemFormPage(c, nil, in, nil)
}
