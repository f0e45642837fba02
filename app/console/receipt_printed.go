package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// receiptPrinted counts one print of a receipt; receiptBatchPrinted counts one print of every
// receipt a batch page showed (its form lists their numbers). static/js/receipts.js posts
// here before it opens the print dialog and writes the answer's labels into the receipts'
// copy slots; without script the form posts and comes back to the page.
func (h *Handler) receiptPrinted(c *fiber.Ctx) error {
	return h.countPrints(c, []string{c.Params("no")}, "/console/receipts/"+c.Params("no"))
}

func (h *Handler) receiptBatchPrinted(c *fiber.Ctx) error {
	var nos []string
	for _, v := range c.Request().PostArgs().PeekMulti("no") {
		nos = append(nos, string(v))
	}
	return h.countPrints(c, nos, "/console/receipts/print?"+string(c.Request().PostArgs().Peek("back")))
}

// printedReceipt is one receipt's new print count, as the script reads it.
type printedReceipt struct {
	No    string `json:"no"`
	Count int    `json:"count"`
	Label string `json:"label"`
}

func (h *Handler) countPrints(c *fiber.Ctx, nos []string, back string) error {
	counts, err := h.Billing.CountPrints(c.UserContext(), nos, actor(c))
	if err != nil {
		return err
	}
	if !strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) {
		return web.Redirect(c, back)
	}
	out := make([]printedReceipt, 0, len(counts))
	for _, no := range nos {
		if n, ok := counts[no]; ok {
			out = append(out, printedReceipt{No: no, Count: n, Label: copyLabel(n)})
		}
	}
	return c.JSON(fiber.Map{"receipts": out})
}
