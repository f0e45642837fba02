package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/catalog"
	"campuspay/store"
)

// itemNew shows an empty item form.
func (h *Handler) itemNew(c *fiber.Ctx) error {
	in := catalog.ItemInput{Audience: "internal", Pricing: "fixed", Category: "other", MerchantID: store.DefaultMerchantID}
	if scope := deptScope(auth.Current(c)); scope != nil {
		in.DepartmentID = *scope
	}
	return h.itemFormPage(c, nil, in, nil)
}
