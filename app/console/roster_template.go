package console

import (
	"campuspay/app/roster"

	"github.com/gofiber/fiber/v2"
)

// rosterTemplate downloads the roster template: the header row and three example rows.
func (h *Handler) rosterTemplate(c *fiber.Ctx) error {
	return sendTemplate(c, "缴费人名册模板.xlsx", "名册", roster.RosterTemplateHeader, roster.RosterTemplateExample)
}
