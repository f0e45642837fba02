package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/store"
)

// merchantShow is a merchant's page: its details, and for each payment company the
// address to register with it, the last error it gave, and the account's form.
func (h *Handler) merchantShow(c *fiber.Ctx) error {
	m, err := h.loadMerchant(c)
	if err != nil {
		return err
	}
	return h.renderMerchant(c, m, nil, nil)
}

// renderMerchant shows a merchant's page. form, when set, is a refused edit of its
// details; failed, a refused save of one account (both answer 422).
func (h *Handler) renderMerchant(c *fiber.Ctx, m *store.Merchant, form *merchantForm, failed *accountFailure) error {
	depts, err := h.Catalog.ItemDepartments(c.UserContext())
	if err != nil {
		return err
	}
	department := ""
	for _, d := range depts {
		if m.DepartmentID != nil && d.ID == *m.DepartmentID {
			department = d.Name
		}
	}
	if form == nil {
		form = &merchantForm{Name: m.Name, Note: m.Note, Errors: map[string]string{}}
		if m.DepartmentID != nil {
			form.DepartmentID = *m.DepartmentID
		}
	}
	var accounts []merchantAccount
	for _, name := range h.merchantChannels() {
		acc, err := h.merchantAccount(m, name, failed)
		if err != nil {
			return err
		}
		accounts = append(accounts, acc)
	}
	if len(form.Errors) > 0 || failed != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return h.page(c, "console/merchants_show", m.Name, fiber.Map{
		"Merchant": m, "Department": department, "Departments": depts, "Form": form, "Accounts": accounts,
		"Flash": merchantFlash[c.Query("ok")],
	})
}

// merchantAccount is one channel's section: the stored plain values, or what was typed
// when failed is about this channel; of a secret, only whether one is stored.
func (h *Handler) merchantAccount(m *store.Merchant, name string, failed *accountFailure) (merchantAccount, error) {
	d := h.Merchants.Driver(name)
	acc := merchantAccount{Name: name, Label: d.Capabilities().Label, NotifyURL: h.notifyURL(name, m.ID), Account: accountOf(m, name)}
	stored := map[string]string{}
	if acc.Account != nil {
		acc.Enabled = acc.Account.Enabled
		var err error
		if stored, err = h.Merchants.Values(acc.Account); err != nil {
			return acc, err
		}
	}
	shown := stored
	if failed != nil && failed.Channel == name {
		acc.Error, acc.Enabled, shown = failed.Message, failed.Enabled, failed.Values
	}
	for _, f := range d.Fields() {
		field := merchantField{Field: f, ID: name + "-" + f.Key}
		if f.Secret {
			field.Saved = stored[f.Key] != ""
		} else {
			field.Value = shown[f.Key]
		}
		acc.Fields = append(acc.Fields, field)
	}
	return acc, nil
}

// loadMerchant reads the merchant named by the :id route parameter, with its accounts.
func (h *Handler) loadMerchant(c *fiber.Ctx) (*store.Merchant, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	return h.Merchants.Merchant(c.UserContext(), id)
}
