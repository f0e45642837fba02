package console

import (
	"github.com/gofiber/fiber/v2"
)

// reconStatus is the finance dashboard's 对账状态 card, loaded by HTMX: yesterday's
// reconciliation per channel (matched, repaired, open discrepancies) and the open
// discrepancies of every day.
func (h *Handler) reconStatus(c *fiber.Ctx) error {
	day := h.Recon.Today().AddDate(0, 0, -1)
	ov, err := h.Recon.Overview(c.UserContext(), day)
	if err != nil {
		return err
	}
	return h.Render.Fragment(c, "console/_recon_status", fiber.Map{"Overview": ov, "Day": day.Format("2006-01-02")})
}
