package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
)

// offlineImportForm is the upload form of offline collections, its columns and rules,
// and the latest imports.
func (h *Handler) offlineImportForm(c *fiber.Ctx) error {
	jobs, err := h.Billing.OfflineImports(c.UserContext(), 10)
	if err != nil {
		return err
	}
	return h.page(c, "console/offline_import", "导入线下收款", fiber.Map{
		"Jobs": jobs, "Header": billing.OfflineTemplateHeader, "MaxRows": maxImportRows,
	})
}
