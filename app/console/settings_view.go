package console

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/settings"
)

// settingsSection is one group of the settings page.
type settingsSection struct {
	Title  string
	Fields []settingsField
}

// settingsField is one setting as the form shows it.
type settingsField struct {
	settings.Def
	Value   string // what the input shows (never a secret)
	Error   string
	Checked bool             // Bool
	Options []settingsOption // List
	Masked  string           // Secret: the mask of the stored value, "" when unset
}

type settingsOption struct {
	Value, Name string
	Checked     bool
}

// Multiline reports whether the field is edited in a textarea.
func (f settingsField) Multiline() bool {
	return f.Kind == settings.Text || (f.Kind == settings.Secret && strings.Contains(f.Key, "private_key"))
}

// settingsSections builds the form: the stored values, or those just submitted (typed),
// with the errors they met.
func (h *Handler) settingsSections(c *fiber.Ctx, typed map[string]string, errs settings.Errors) []settingsSection {
	ctx := c.UserContext()
	var out []settingsSection
	for _, d := range settings.Defs {
		if len(out) == 0 || out[len(out)-1].Title != d.Section {
			out = append(out, settingsSection{Title: d.Section})
		}
		f := settingsField{Def: d, Error: errs[d.Key]}
		value, given := typed[d.Key]
		if !given {
			value = h.Settings.Get(ctx, d.Key)
		}
		switch d.Kind {
		case settings.Secret:
			if plain, err := h.Settings.Secret(ctx, d.Key, h.Secrets); err != nil {
				f.Masked = "无法解密，请重新填写"
			} else if plain != "" {
				f.Masked = auth.Mask(secretTail(plain))
			}
		case settings.Bool:
			f.Checked = value == "true"
		case settings.List:
			words := strings.Split(value, ",")
			for _, w := range d.Choices {
				f.Options = append(f.Options, settingsOption{Value: w, Name: d.ChoiceName(w), Checked: slices.Contains(words, w)})
			}
		default:
			f.Value = value
		}
		sec := &out[len(out)-1]
		sec.Fields = append(sec.Fields, f)
	}
	return out
}

// secretTail is the part of a secret its mask shows the end of: for a PEM key, the last
// line of the key itself rather than its "-----END …-----" line.
func secretTail(plain string) string {
	lines := strings.Fields(plain)
	for i := len(lines) - 1; i > 0; i-- {
		if !strings.HasPrefix(lines[i], "-----") && !strings.HasSuffix(lines[i], "-----") && len(lines[i]) >= 4 {
			return lines[i]
		}
	}
	return plain
}
