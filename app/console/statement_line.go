package console

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// statementLine opens a statement line where it is: its statement, on the page that holds
// it, marked.
func (h *Handler) statementLine(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	line, page, err := h.Recon.LineLocation(c.UserContext(), id, 50)
	if err != nil {
		return err
	}
	return web.Redirect(c, fmt.Sprintf("/console/recon/statements/%d?page=%d&line=%d#L%d", line.StatementID, page, line.ID, line.LineNo))
}
