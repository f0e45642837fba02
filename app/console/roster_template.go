package console

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/sheet"
)

// rosterTemplate downloads the roster template: the header row and three example rows.
func (h *Handler) rosterTemplate(c *fiber.Ctx) error {
	var buf bytes.Buffer
	err := sheet.WriteXLSX(&buf, "名册", billing.RosterTemplateHeader, func(yield func([]any) error) error {
		for _, row := range billing.RosterTemplateExample {
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
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="roster-template.xlsx"; filename*=UTF-8''%E7%BC%B4%E8%B4%B9%E4%BA%BA%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx`)
	return c.Send(buf.Bytes())
}
