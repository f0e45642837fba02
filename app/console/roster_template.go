package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// rosterTemplate downloads the roster template: the header row and three example rows.
func (h *Handler) rosterTemplate(c *fiber.Ctx) error {
	return sendTemplate(c, "缴费人名册模板.xlsx", "名册", billing.RosterTemplateHeader, billing.RosterTemplateExample)
}
