package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// itemEdit shows the form of a draft or rejected item.
func (h *Handler) itemEdit(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	if !billing.ItemEditable(item.Status) {
		return fiber.NewError(fiber.StatusConflict, "项目"+billing.ItemStatusLabel(item.Status)+"，不能再修改")
	}
	return h.itemFormPage(c, item, billing.InputOf(item), nil)
}
