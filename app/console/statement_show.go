package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// statementShow is one statement version with its summary and its lines, page by page;
// ?line= marks the line a discrepancy pointed at.
func (h *Handler) statementShow(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	st, err := h.Recon.StatementByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	kind := c.Query("kind")
	pager := web.NewPager(c, 50)
	lines, total, err := h.Recon.StatementLines(c.UserContext(), id, kind, pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	mark := int64(c.QueryInt("line"))
	return h.page(c, "console/recon_statement", "对账单明细", fiber.Map{
		"Statement": statementRow{st}, "Lines": lines, "Pager": pager, "Kind": kind, "Mark": mark,
	})
}
