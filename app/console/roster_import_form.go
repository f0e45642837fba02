package console

import "github.com/gofiber/fiber/v2"

// rosterImportForm shows the upload form, the columns it expects, and the latest imports.
func (h *Handler) rosterImportForm(c *fiber.Ctx) error {
	jobs, err := h.Roster.RosterImports(c.UserContext(), 10)
	if err != nil {
		return err
	}
	return h.page(c, "console/roster_import", "导入名册", fiber.Map{"Jobs": jobs})
}
