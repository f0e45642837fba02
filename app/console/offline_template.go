package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// offlineTemplate downloads the offline collection template: the header and example rows.
func (h *Handler) offlineTemplate(c *fiber.Ctx) error {
	return sendTemplate(c, "线下收款模板.xlsx", "线下收款", billing.OfflineTemplateHeader, billing.OfflineTemplateExample)
}
