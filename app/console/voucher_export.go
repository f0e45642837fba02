package console

import (
	"bytes"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
)

// voucherExport downloads the vouchers of the chosen days as an Excel workbook an
// accounting system imports: sheet 凭证 (voucher lines) and sheet 汇总 (totals).
func (h *Handler) voucherExport(c *fiber.Ctx) error {
	from, to, err := h.voucherRange(c)
	if err != nil {
		return err
	}
	rep, err := h.Recon.Vouchers(c.UserContext(), from, to)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := recon.WriteVoucherXLSX(&buf, rep); err != nil {
		return err
	}
	name := fmt.Sprintf("vouchers-%s-%s.xlsx", from.Format("20060102"), to.Format("20060102"))
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}
