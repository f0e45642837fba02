package console

import (
	"encoding/base64"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/recon"
	"campuspay/app/web"
)

// bankfileMappingSave saves a bank's column mapping and, when the form carries the file
// that asked for it, imports that file with it.
func (h *Handler) bankfileMappingSave(c *fiber.Ctx) error {
	code := c.Params("code")
	if code == "new" {
		code = c.FormValue("bank")
	}
	m := recon.MappingFrom(func(k string) string { return c.FormValue(k) })
	if err := h.Recon.SaveBankMapping(c.UserContext(), code, c.FormValue("name"), m, actor(c)); err != nil {
		return err
	}
	code, _ = recon.NormalizeBankCode(code)
	if c.FormValue("file_data") == "" {
		return web.Redirect(c, "/console/recon/bankfiles?"+url.Values{"saved": {code}}.Encode())
	}
	data, err := base64.StdEncoding.DecodeString(c.FormValue("file_data"))
	if err != nil || len(data) > maxBankFile {
		return fiber.NewError(fiber.StatusUnprocessableEntity, "文件内容有误，请重新上传")
	}
	results, err := h.Recon.UploadBankFile(c.UserContext(), code, c.FormValue("file_name"), data, actor(c))
	if err != nil {
		return err
	}
	return web.Redirect(c, uploadedTarget(code, results))
}
