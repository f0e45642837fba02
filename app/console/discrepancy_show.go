package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/store"
)

// discrepancyShow is one discrepancy: both sides' amounts, the order, the statement line
// and the bank line it concerns, and (finance, while it is open) the resolve form.
func (h *Handler) discrepancyShow(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	d, err := h.Recon.DiscrepancyByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	data := fiber.Map{"D": discrepancyRow{d}, "CanResolve": auth.Current(c).Has(store.RoleFinance) && d.Status == "open"}
	for key, lineID := range map[string]*int64{"Line": d.StatementLineID, "BankLine": d.BankLineID} {
		if lineID == nil {
			continue
		}
		if line, st, err := h.Recon.StatementLineByID(c.UserContext(), *lineID); err == nil {
			data[key], data[key+"Statement"] = line, statementRow{st}
		}
	}
	if d.OrderNo != "" {
		if o, err := h.Recon.Order(c.UserContext(), d.OrderNo); err == nil {
			data["Order"] = o
		}
	}
	return h.page(c, "console/recon_discrepancy", "差异详情", data)
}
