package console

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/sheet"
)

// offlineTemplate downloads the offline collection template: the header and example rows.
func (h *Handler) offlineTemplate(c *fiber.Ctx) error {
	var buf bytes.Buffer
	err := sheet.WriteXLSX(&buf, "线下收款", billing.OfflineTemplateHeader, func(yield func([]any) error) error {
		for _, row := range billing.OfflineTemplateExample {
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="offline-template.xlsx"; filename*=UTF-8''%E7%BA%BF%E4%B8%8B%E6%94%B6%E6%AC%BE%E6%A8%A1%E6%9D%BF.xlsx`)
	return c.Send(buf.Bytes())
}
