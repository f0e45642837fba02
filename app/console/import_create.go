package console

import (
	"io"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/sheet"
)

const maxImportRows = sheet.MaxRows

// billImport takes the uploaded file and starts its import in the background; the answer
// is the job's status, which then polls itself until the import ends.
func (h *Handler) billImport(c *fiber.Ctx) error {
	item, err := h.loadItem(c)
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "请选择要上传的 Excel (.xlsx) 或 CSV 文件")
	}
	if fh.Size > maxUpload {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "文件过大：一次最多上传 15 MB")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil {
		return err
	}
	job, err := h.Bills.ImportBills(c.UserContext(), item.ID, fh.Filename, data, deptScope(auth.Current(c)), actor(c))
	if err != nil {
		return err
	}
	return h.importJobPage(c, job.ID)
}
