package console

import "github.com/gofiber/fiber/v2"

// settingsForm shows every system parameter, grouped, with its help text.
func (h *Handler) settingsForm(c *fiber.Ctx) error {
	data := fiber.Map{"Sections": h.settingsSections(c, nil, nil)}
	if c.Query("saved") != "" {
		data["Flash"] = "参数已保存"
	}
	return h.page(c, "console/settings", "系统参数", data)
}
