package console

import (
	"io"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// maxUpload is the largest spreadsheet accepted (the app's body limit is 16 MB).
const maxUpload = 15 << 20

// rosterImport takes an uploaded roster and starts importing it in the background; the
// answer is the job's status, which polls itself until the import ends.
func (h *Handler) rosterImport(c *fiber.Ctx) error {
	name, data, err := uploadedFile(c, "file")
	if err != nil {
		return err
	}
	job, err := h.Roster.ImportRoster(c.UserContext(), name, data, actor(c), c.IP())
	if err != nil {
		return err
	}
	url := "/console/roster/imports/" + strconv.FormatInt(job.ID, 10)
	if web.IsPartial(c) {
		return h.Render.Fragment(c, "console/_roster_job", fiber.Map{"Job": job, "URL": url})
	}
	return web.Redirect(c, url)
}

// uploadedFile reads the file of a multipart form field.
func uploadedFile(c *fiber.Ctx, field string) (string, []byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return "", nil, fiber.NewError(fiber.StatusUnprocessableEntity, "请选择要上传的 .xlsx 或 .csv 文件")
	}
	if fh.Size > maxUpload {
		return "", nil, fiber.NewError(fiber.StatusRequestEntityTooLarge, "文件过大：一次最多上传 15 MB")
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil {
		return "", nil, err
	}
	return fh.Filename, data, nil
}
