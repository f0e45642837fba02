package cashier

import (
	"context"
	"errors"
	"html/template"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/web"
	"campuspay/store"
)

// bills is the payer's home: outstanding bills to tick, a running total, the ways to pay.
// ?bill=ID ticks one bill (a business system's pay link lands here).
//
// It is the busiest page of the first hour of term, so it reads its session, its user and
// the bills in one statement (billing.SessionBills) instead of the session middleware's
// read and then its own: the route has no session middleware, and the page adopts what it
// read before it shows anything.
func (h *Handler) bills(c *fiber.Ctx) error {
	rec, bills, err := h.Billing.SessionBills(c.UserContext(), h.SessionStore.Key(c))
	if err != nil {
		return err
	}
	p, err := h.SessionStore.Adopt(c, rec)
	if err != nil {
		return err
	}
	if p == nil {
		return web.Redirect(c, web.LoginURL(c.OriginalURL()))
	}
	if !p.Has(store.RolePayer) {
		return fiber.NewError(fiber.StatusForbidden, "此账号不是缴费人账号")
	}
	form := billsForm{Selected: map[int64]bool{int64(c.QueryInt("bill")): true}}
	if err := h.showBills(c, fiber.StatusOK, form, bills); err != nil {
		return err
	}
	return auth.KeepAlive(c)
}

// billsForm is what the payer had chosen when the page is shown again with an error.
type billsForm struct {
	Selected map[int64]bool
	Amounts  map[int64]string // typed partial amounts
	Channel  string           // the posted choice's value
	Error    string
}

// billGroup is the bills that collect into one merchant (收款单位): one order pays bills of
// one merchant only, so with several the page lists them apart.
type billGroup struct {
	MerchantID int64
	Name       string
	Bills      []*store.Bill
	RowsHTML   template.HTML // the bills as the page shows them (billRowsHTML)
}

// billRow is one bill as the page shows it, worked out here as strings and flags for
// billRowsHTML to write out.
type billRow struct {
	ID             int64
	Name, Dept     string
	Deadline       string // 截止 date, or ""
	Due, Paid      string // what is still owed, what is paid, as ¥1,234.00
	Max            string // what is owed, plain (1234.00): the part-payment field's placeholder
	Amount         string // the part payment typed, when the page is shown again
	Locked         bool   // an open order holds it
	Checked        bool
	PartPaid       bool // paid in part already
	PartialAllowed bool // the payer may pay part of it
	AmountField    bool // the page asks how much to pay now: part payment allowed, not locked
}

// billsPage shows the bills page again after a form of it was refused (the session
// middleware has loaded the session).
func (h *Handler) billsPage(c *fiber.Ctx, status int, form billsForm) error {
	bills, err := h.Billing.OutstandingBills(c.UserContext(), auth.Current(c).UserID)
	if err != nil {
		return err
	}
	return h.showBills(c, status, form, bills)
}

func (h *Handler) showBills(c *fiber.Ctx, status int, form billsForm, bills []*store.Bill) error {
	ctx := c.UserContext()
	p := auth.Current(c)
	groups, err := h.groupBills(ctx, bills)
	if err != nil {
		return err
	}
	var total int64
	for _, b := range bills {
		total += b.OutstandingFen()
	}
	// Orders still open hold their bills: the payer continues, switches or cancels them here.
	// An open order holds its bills until it expires (held_until is its expiry), so only a
	// page with a bill held now asks for them.
	var open []*store.Order
	if slices.ContainsFunc(bills, func(b *store.Bill) bool { return b.HeldUntil != nil && b.HeldUntil.After(h.now()) }) {
		if open, err = h.Billing.PayerOpenOrders(ctx, p.UserID); err != nil {
			return err
		}
	}
	merchantID := store.DefaultMerchantID
	if len(groups) > 0 {
		merchantID = groups[0].MerchantID
	}
	choices := map[int64][]payChoice{merchantID: h.choices(c, merchantID, false)}
	pick(choices[merchantID], form.Channel)
	switchTo := map[string][]payChoice{}
	for _, o := range open {
		if _, ok := choices[o.MerchantID]; !ok {
			choices[o.MerchantID] = h.choices(c, o.MerchantID, false)
		}
		switchTo[o.OrderNo] = h.switchChoices(c, o, choices[o.MerchantID])
	}
	// Ticked bills an open order holds are not ticked.
	now := h.now()
	count, selectedFen, merchants := 0, int64(0), 0
	for _, g := range groups {
		n := count
		rows := make([]billRow, len(g.Bills))
		for i, b := range g.Bills {
			locked := b.HeldUntil != nil && b.HeldUntil.After(now)
			rows[i] = rowOf(b, locked, form)
			if !form.Selected[b.ID] {
				continue
			}
			if locked {
				delete(form.Selected, b.ID)
				continue
			}
			rows[i].Checked = true
			count, selectedFen = count+1, selectedFen+b.OutstandingFen()
		}
		if count > n {
			merchants++
		}
		g.RowsHTML = billRowsHTML(rows)
	}
	return h.Render.Render(c.Status(status), "cashier/bills", "待缴费用", fiber.Map{
		"Bills": bills, "BillCount": len(bills), "Outstanding": money.Format(total), "Groups": groups, "Several": len(groups) > 1,
		"Channels": choices[merchantID],
		"Now":      now, "Form": form, "Total": fiber.Map{"Count": count, "TotalFen": selectedFen, "Mixed": merchants > 1},
		"OpenOrders": open, "SwitchTo": switchTo, "Tabs": true,
	})
}

func rowOf(b *store.Bill, locked bool, form billsForm) billRow {
	r := billRow{ID: b.ID, Due: money.Format(b.OutstandingFen()), Paid: money.Format(b.AmountPaidFen),
		Max: money.Plain(b.OutstandingFen()), Amount: form.Amounts[b.ID], Locked: locked, PartPaid: b.Status == store.BillPartial}
	if b.Item != nil {
		r.Name, r.PartialAllowed = b.Item.Name, b.Item.PartialAllowed
		if b.Item.Department != nil {
			r.Dept = b.Item.Department.Name
		}
	}
	r.AmountField = r.PartialAllowed && !locked
	if b.DueDate != nil {
		r.Deadline = b.DueDate.In(bizday.Shanghai).Format("2006-01-02")
	}
	return r
}

// groupBills groups the bills by the merchant they collect into, in the order the bills
// come, each group named after its merchant.
func (h *Handler) groupBills(ctx context.Context, bills []*store.Bill) ([]*billGroup, error) {
	merchantOf, err := h.billMerchants(ctx, bills)
	if err != nil {
		return nil, err
	}
	var groups []*billGroup
	byID := map[int64]*billGroup{}
	for _, b := range bills {
		m := merchantOf[b.ID]
		g := byID[m]
		if g == nil {
			g = &billGroup{MerchantID: m}
			byID[m] = g
			groups = append(groups, g)
		}
		g.Bills = append(g.Bills, b)
	}
	if len(groups) > 1 {
		for _, g := range groups {
			g.Name = h.merchantName(ctx, g.MerchantID)
		}
	}
	return groups, nil
}

// billMerchants maps each bill to the merchant its item collects into. One question
// answers the usual case, every bill the school's; only bills of several merchants are
// asked about item by item.
func (h *Handler) billMerchants(ctx context.Context, bills []*store.Bill) (map[int64]int64, error) {
	out := make(map[int64]int64, len(bills))
	byItem := map[int64][]int64{}
	var ids []int64
	for _, b := range bills {
		if b.Item != nil && b.Item.MerchantID != 0 {
			out[b.ID] = b.Item.MerchantID
			continue
		}
		byItem[b.ItemID] = append(byItem[b.ItemID], b.ID)
		ids = append(ids, b.ID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	if m, err := h.Billing.MerchantOf(ctx, ids); err == nil {
		for _, id := range ids {
			out[id] = m
		}
		return out, nil
	} else if !mixedMerchants(err) {
		return nil, err
	}
	for _, billIDs := range byItem {
		m, err := h.Billing.MerchantOf(ctx, billIDs[:1])
		if err != nil {
			return nil, err
		}
		for _, id := range billIDs {
			out[id] = m
		}
	}
	return out, nil
}

// mixedMerchants: the error says the bills collect into several merchants.
func mixedMerchants(err error) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Code == "mixed_merchants"
}

// total is the running total of the ticked bills (HTMX, on every tick). Bills of several
// merchants are said to be paid apart.
func (h *Handler) total(c *fiber.Ctx) error {
	ids, err := billIDs(c)
	if err != nil {
		return err
	}
	n, fen, err := h.Billing.SelectionTotal(c.UserContext(), auth.Current(c).UserID, ids)
	if err != nil {
		return err
	}
	mixed := false
	if len(ids) > 1 {
		_, err := h.Billing.MerchantOf(c.UserContext(), ids)
		if mixed = mixedMerchants(err); err != nil && !mixed {
			return err
		}
	}
	return h.Render.Fragment(c, "cashier/_total", fiber.Map{"Count": n, "TotalFen": fen, "Mixed": mixed})
}

// billIDs reads the ticked bills ("bill" fields) of a form.
func billIDs(c *fiber.Ctx) ([]int64, error) {
	form, err := c.MultipartForm()
	var raw []string
	if err == nil {
		raw = form.Value["bill"]
	} else {
		c.Request().PostArgs().VisitAll(func(k, v []byte) {
			if string(k) == "bill" {
				raw = append(raw, string(v))
			}
		})
	}
	ids := make([]int64, 0, len(raw))
	for _, s := range raw {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, fiber.NewError(fiber.StatusBadRequest, "所选款项无效")
		}
		ids = append(ids, id)
	}
	if len(ids) > billing.MaxOrderLines {
		return nil, fiber.NewError(fiber.StatusBadRequest, "一次最多支付 "+strconv.Itoa(billing.MaxOrderLines)+" 笔款项")
	}
	return ids, nil
}

// switchChoices are, of the choices for the order's merchant, the other channels an open
// order of the signed-in payer may move to (each at its best way here): a new order for the
// same bills (billing.SwitchOrderChannel).
func (h *Handler) switchChoices(c *fiber.Ctx, o *store.Order, all []payChoice) []payChoice {
	if !ownOrder(c, o) || o.Status != store.OrderOpen || !h.now().Before(o.ExpiresAt) {
		return nil
	}
	var out []payChoice
	for _, ch := range firstPerChannel(all) {
		if ch.Channel != o.Channel {
			out = append(out, ch)
		}
	}
	return out
}

// guestChoices are the ways an off-campus payer may pay a merchant's bills here.
func (h *Handler) guestChoices(c *fiber.Ctx, merchantID int64) []payChoice {
	return h.choices(c, merchantID, true)
}

// noGuestChannel is what an off-campus payer reads when no channel is open to them.
const noGuestChannel = "暂无可用的在线支付方式，暂时无法在线缴费。请联系收费部门，或稍后再试。"
