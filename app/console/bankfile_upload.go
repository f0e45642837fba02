package console

import (
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/fault"
	"campuspay/app/recon"
	"campuspay/app/web"
)

// maxBankFile bounds an uploaded bank export (it travels once more through the mapping
// form when the bank is new).
const maxBankFile = 4 << 20

// bankfileUpload stores an uploaded bank statement (CSV or .xlsx) with the bank's saved
// column mapping; a bank seen for the first time gets the mapping form first, with the
// file carried along.
func (h *Handler) bankfileUpload(c *fiber.Ctx) error {
	code, err := recon.NormalizeBankCode(c.FormValue("bank"))
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "请选择银行流水文件（.xlsx 或 .csv）")
	}
	if fh.Size > maxBankFile {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "文件过大：银行流水文件不能超过 4 MB，请按日期分开导出")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	results, err := h.Recon.UploadBankFile(c.UserContext(), code, fh.Filename, data, actor(c))
	var be *fault.Error
	if errors.As(err, &be) && be.Code == "mapping_not_found" {
		return h.mappingPage(c, code, "", recon.Mapping{}, fh.Filename, data)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, uploadedTarget(code, results))
}

// uploadedTarget is where an upload lands: the statement when it was one day, else the
// bank's statements.
func uploadedTarget(code string, results []*recon.StatementResult) string {
	if len(results) == 1 {
		return "/console/recon/statements/" + itoa(results[0].Statement.ID)
	}
	return "/console/recon/statements?source=bank:" + code
}
