package console

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/settings"
	"campuspay/app/web"
)

// settingsSave validates every field and stores what changed (each change audited). A
// wrong value shows the form again with the message beside the field, nothing saved.
func (h *Handler) settingsSave(c *fiber.Ctx) error {
	form := settingsFormValues(c)
	changes, err := h.Settings.Save(c.UserContext(), form, h.Secrets, actor(c), c.IP())
	var errs settings.Errors
	if err != nil && !errors.As(err, &errs) {
		return err
	}
	if errs == nil && !web.IsPartial(c) {
		return web.Redirect(c, "/console/settings?saved=1")
	}
	data := fiber.Map{"Sections": h.settingsSections(c, form.Values, errs)}
	switch {
	case errs != nil:
		data["Error"] = fmt.Sprintf("有 %d 项填写有误，未保存任何修改", len(errs))
	case len(changes) == 0:
		data["Notice"] = "没有需要保存的修改"
	default:
		var names []string
		for _, ch := range changes {
			names = append(names, ch.Label)
		}
		data["Notice"] = fmt.Sprintf("已保存 %d 项修改：%s", len(changes), strings.Join(names, "、"))
	}
	if web.IsPartial(c) { // htmx swaps 200 answers only
		return h.Render.Fragment(c, "console/_settings_form", data)
	}
	return h.page(c.Status(fiber.StatusUnprocessableEntity), "console/settings", "系统参数", data)
}

// settingsFormValues reads the submitted form: unticked boxes are false, ticked channels
// are joined, secrets left empty stay as they are.
func settingsFormValues(c *fiber.Ctx) settings.Form {
	f := settings.Form{Values: map[string]string{}, Clear: map[string]bool{}}
	args := c.Request().PostArgs()
	for _, d := range settings.Defs {
		switch d.Kind {
		case settings.Bool:
			f.Values[d.Key] = strconv.FormatBool(c.FormValue(d.Key) == "true")
		case settings.List:
			var words []string
			for _, v := range args.PeekMulti(d.Key) {
				words = append(words, string(v))
			}
			f.Values[d.Key] = strings.Join(words, ",")
		default:
			f.Values[d.Key] = c.FormValue(d.Key)
		}
	}
	for _, v := range args.PeekMulti("clear") {
		f.Clear[string(v)] = true
	}
	return f
}
