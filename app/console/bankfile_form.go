package console

import (
	"github.com/gofiber/fiber/v2"
)

// bankfileForm is the bank statement upload: the bank, the file, and the banks whose
// column mappings are saved.
func (h *Handler) bankfileForm(c *fiber.Ctx) error {
	mappings, err := h.Recon.BankMappings(c.UserContext())
	if err != nil {
		return err
	}
	data := fiber.Map{"Mappings": mappings}
	if c.Query("saved") != "" {
		data["Flash"] = "已保存银行 " + c.Query("saved") + " 的列映射"
	}
	return h.page(c, "console/recon_bankfile", "上传银行流水", data)
}
