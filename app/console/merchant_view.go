package console

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/channel"
	"campuspay/store"
)

// merchantChannelOrder is the order the merchant pages list the payment companies in; a
// driver not named here follows, by name.
var merchantChannelOrder = []string{"alipay", "wechatpay", "unionpay"}

// merchantChannels are the drivers' names in the pages' order.
func (h *Handler) merchantChannels() []string {
	names := h.Merchants.DriverNames() // sorted by name
	rank := func(name string) int {
		if i := slices.Index(merchantChannelOrder, name); i >= 0 {
			return i
		}
		return len(merchantChannelOrder)
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return names
}

// merchantForm is the merchant form (name, department, note) as typed, with its errors.
type merchantForm struct {
	Name         string
	DepartmentID int64
	Note         string
	Errors       map[string]string
}

// merchantInput reads the merchant form; a department that is not a number is -1, which
// the service refuses.
func merchantInput(c *fiber.Ctx) *merchantForm {
	f := &merchantForm{Name: c.FormValue("name"), Note: c.FormValue("note"), Errors: map[string]string{}}
	if raw := c.FormValue("department_id"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			id = -1
		}
		f.DepartmentID = id
	}
	return f
}

// accountBadge is one channel's account of a merchant as the list shows it.
type accountBadge struct {
	Label   string
	Account *store.MerchantAccount // nil: not configured
}

// merchantRow is a merchant in the list.
type merchantRow struct {
	*store.Merchant
	Department string
	Channels   []accountBadge
}

// accountOf is a merchant's account at a channel, or nil.
func accountOf(m *store.Merchant, name string) *store.MerchantAccount {
	for _, a := range m.Accounts {
		if a.Channel == name {
			return a
		}
	}
	return nil
}

// merchantField is one field of an account form: a secret's value is never here, only
// whether one is stored.
type merchantField struct {
	channel.Field
	ID    string // the input's id, unique on the page
	Value string // a plain field's value
	Saved bool   // a secret field has a stored value
}

// merchantAccount is one channel's section of the merchant page.
type merchantAccount struct {
	Name      string // the channel's code
	Label     string
	NotifyURL string // what finance registers with the company
	Account   *store.MerchantAccount
	Enabled   bool
	Fields    []merchantField
	Error     string // why the last save was refused (a page request without HTMX)
}

// accountFailure is a refused save: the channel, the reason, and what was typed (secrets
// left out: they are never sent back).
type accountFailure struct {
	Channel string
	Message string
	Values  map[string]string
	Enabled bool
}

// merchantPath is the console address of a merchant's page.
func merchantPath(id int64) string { return "/console/merchants/" + strconv.FormatInt(id, 10) }

// notifyURL is the address a company sends a merchant's notifications to.
func (h *Handler) notifyURL(name string, merchantID int64) string {
	return h.BaseURL + "/notify/" + name + "/" + strconv.FormatInt(merchantID, 10)
}

// merchantFlash are the notes a redirect back to a merchant's page may ask for.
var merchantFlash = map[string]string{
	"created": "收款商户已创建：请在下方为它配置各支付渠道的账户",
	"updated": "已保存",
	"saved":   "已保存",
}
