package console

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/channel"
	"campuspay/app/fault"
	"campuspay/app/web"
)

// merchantAccountSave stores a merchant's account at one payment company. The service
// opens the settings through the company's driver first: a key that does not parse or a
// certificate that does not chain saves nothing, and the driver's words (naming the
// field) come back next to the form — in its error slot for HTMX, on the page again
// otherwise. A secret field left blank keeps its stored value; a secret typed is never
// sent back.
func (h *Handler) merchantAccountSave(c *fiber.Ctx) error {
	m, err := h.loadMerchant(c)
	if err != nil {
		return err
	}
	name := c.Params("channel")
	d := h.Merchants.Driver(name)
	if d == nil {
		return fiber.NewError(fiber.StatusNotFound, "不支持的支付渠道")
	}
	values := accountValues(c, d.Fields())
	enabled := c.FormValue("enabled") == "on"
	// A demo account (the demo's, pointing at the fakes, rewritten at every start) stays
	// one while finance only switches it on or off; any value entered makes it finance's
	// own, which the demo never touches again.
	demo := false
	if a := accountOf(m, name); a != nil && a.Demo {
		stored, err := h.Merchants.Values(a)
		if err != nil {
			return err
		}
		demo = sameValues(d.Fields(), values, stored)
	}
	_, err = h.Merchants.Save(c.UserContext(), m.ID, name, values, enabled, demo, actor(c))
	if errors.Is(err, fault.ErrInvalid) && !web.IsPartial(c) {
		failed := &accountFailure{Channel: name, Message: fault.Message(err, "保存失败"), Values: map[string]string{}, Enabled: enabled}
		for _, f := range d.Fields() {
			if !f.Secret {
				failed.Values[f.Key] = values[f.Key]
			}
		}
		return h.renderMerchant(c, m, nil, failed)
	}
	if err != nil {
		return err
	}
	return web.Redirect(c, merchantPath(m.ID)+"?ok=saved#channel-"+name)
}

// accountValues reads an account form: the fields filled in (a blank one is absent), a
// textarea's lines ending in LF again (browsers send CRLF; the key pasted had LF).
func accountValues(c *fiber.Ctx, fields []channel.Field) map[string]string {
	values := map[string]string{}
	for _, f := range fields {
		v := c.FormValue(f.Key)
		if f.Multiline {
			v = strings.ReplaceAll(v, "\r\n", "\n")
		}
		if strings.TrimSpace(v) != "" {
			values[f.Key] = v
		}
	}
	return values
}

// sameValues reports whether a form changes nothing of an account: every plain field as
// stored, every secret field left blank (kept).
func sameValues(fields []channel.Field, form, stored map[string]string) bool {
	for _, f := range fields {
		if f.Secret && form[f.Key] != "" || !f.Secret && form[f.Key] != stored[f.Key] {
			return false
		}
	}
	return true
}
