package console

import (
	"errors"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/clients"
	"campuspay/app/fault"
	"campuspay/store"
)

// clientFormData is what the client form shows: the values as typed and the errors.
type clientFormData struct {
	ID          int64
	AppID       string
	Name        string
	Items       []string
	CallbackURL string
	Roster      bool
	LegacyMD5   bool
	Errors      map[string]string
}

// Allows tells the form which item boxes are ticked.
func (f *clientFormData) Allows(code string) bool { return slices.Contains(f.Items, code) }

// clientInput reads the client form; an edit keeps the app id of the record.
func clientInput(c *fiber.Ctx) clients.ClientInput {
	var items []string
	for _, v := range c.Request().PostArgs().PeekMulti("items") {
		items = append(items, string(v))
	}
	return clients.ClientInput{AppID: c.FormValue("app_id"), Name: c.FormValue("name"), AllowedItems: items,
		CallbackURL: c.FormValue("callback_url"), Roster: c.FormValue("roster") == "on", LegacyMD5: c.FormValue("legacy_md5") == "on"}
}

func clientFormFrom(in clients.ClientInput) *clientFormData {
	return &clientFormData{AppID: in.AppID, Name: in.Name, Items: in.AllowedItems, CallbackURL: in.CallbackURL,
		Roster: in.Roster, LegacyMD5: in.LegacyMD5, Errors: map[string]string{}}
}

func clientFormOf(cl *store.Client) *clientFormData {
	return &clientFormData{ID: cl.ID, AppID: cl.AppID, Name: cl.Name, Items: clients.ItemCodes(cl), CallbackURL: cl.CallbackURL,
		Roster: cl.Roster, LegacyMD5: cl.LegacyMD5, Errors: map[string]string{}}
}

// clientFields puts each of billing's refusals beside the field it is about.
var clientFields = map[string]string{
	"app_id_invalid":   "app_id",
	"app_id_taken":     "app_id",
	"name_invalid":     "name",
	"callback_invalid": "callback_url",
	"item_unknown":     "items",
}

// clientFormError records a refused input under its field and reports whether err was one.
func clientFormError(form *clientFormData, err error) bool {
	var be *fault.Error
	if !errors.As(err, &be) {
		return false
	}
	field, ok := clientFields[be.Code]
	if !ok {
		return false
	}
	form.Errors[field] = be.Message
	return true
}

// renderClientForm shows the new-client or edit-client form (422 when it carries errors).
func (h *Handler) renderClientForm(c *fiber.Ctx, form *clientFormData) error {
	choices, err := h.Clients.ClientItemChoices(c.UserContext(), form.Items)
	if err != nil {
		return err
	}
	if len(form.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	data := fiber.Map{"Form": form, "Choices": choices}
	if form.ID == 0 {
		return h.page(c, "console/clients_new", "新建接入系统", data)
	}
	return h.page(c, "console/clients_edit", "修改接入系统", data)
}

// loadClient reads the client named by the :id route parameter.
func (h *Handler) loadClient(c *fiber.Ctx) (*store.Client, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	return h.Clients.ClientByID(c.UserContext(), id)
}

// clientPath is the console address of a client's page.
func clientPath(cl *store.Client) string {
	return "/console/clients/" + strconv.FormatInt(cl.ID, 10)
}

// clientFlash are the notes a redirect back to a client's pages may ask for.
var clientFlash = map[string]string{
	"updated":  "已保存",
	"disabled": "已停用：该系统的请求将被拒绝（401），回调照常投递",
	"enabled":  "已启用",
	"resent":   "已重新排队，将在几秒内发送",
}
