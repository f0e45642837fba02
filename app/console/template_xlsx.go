package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/sheet"
)

// sendTemplate answers with an import template: an .xlsx download named name whose one
// sheet has the header row and example rows.
func sendTemplate(c *fiber.Ctx, name, sheetName string, header []string, examples [][]any) error {
	itemsAttachment(c, name)
	return sheet.WriteXLSX(c.Response().BodyWriter(), sheetName, header, func(yield func([]any) error) error {
		for _, row := range examples {
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	})
}
