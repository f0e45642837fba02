package console

import (
	"campuspay/app/catalog"

	"github.com/gofiber/fiber/v2"
)

// itemEdit shows the form of a draft or rejected item.
func (h *Handler) itemEdit(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	if !catalog.ItemEditable(item.Status) {
		return fiber.NewError(fiber.StatusConflict, "项目"+catalog.ItemStatusLabel(item.Status)+"，不能再修改")
	}
	return h.itemFormPage(c, item, catalog.InputOf(item), nil)
}
