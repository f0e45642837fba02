package console

import (
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/bizday"
	"campuspay/app/sheet"
)

// searchExport writes every row of a search (the same filter as the page, no pagination)
// as an Excel file with a totals row at the end. Amounts are yuan with two decimals.
func (h *Handler) searchExport(c *fiber.Ctx) error {
	kind := c.Params("kind")
	title, ok := searchKinds[kind]
	if !ok {
		return fiber.ErrNotFound
	}
	filter, _, err := h.searchFilter(c, kind, h.now())
	if err != nil {
		return err
	}
	export := searchExports[kind]
	// Count first, so that a search too large to export answers with a message, not a file.
	if err := export.check(c, h.Reports, filter); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.xlsx", title, h.now().In(bizday.Shanghai).Format("20060102-150405"))
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.xlsx"; filename*=UTF-8''%s`, kind, url.PathEscape(name)))
	err = sheet.WriteXLSX(c.Response().BodyWriter(), title, export.header, func(yield func([]any) error) error {
		return export.rows(c, h.Reports, filter, yield)
	})
	if err != nil {
		c.Response().Header.Del(fiber.HeaderContentDisposition)
		c.Response().ResetBody()
	}
	return err
}
