package cashier

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
)

// bills is the payer's home: outstanding bills to tick, a running total, the channels.
func (h *Handler) bills(c *fiber.Ctx) error {
	p := auth.Current(c)
	bills, err := h.Billing.OutstandingBills(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	var total int64
	for _, b := range bills {
		total += b.OutstandingFen()
	}
	channels, err := h.channels(c)
	if err != nil {
		return err
	}
	// Orders still open hold their bills: the payer continues, switches or cancels them here.
	open, err := h.Billing.PayerOpenOrders(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	// ?bill=ID ticks one bill (a business system's pay link lands here), unless an open
	// order holds it.
	selected, count, selectedFen := int64(c.QueryInt("bill")), 0, int64(0)
	for _, b := range bills {
		if b.ID == selected && (b.HeldUntil == nil || !b.HeldUntil.After(h.now())) {
			count, selectedFen = 1, b.OutstandingFen()
		}
	}
	return h.Render.Render(c, "cashier/bills", "待缴费用", fiber.Map{
		"Bills": bills, "OutstandingFen": total, "Channels": channels, "Now": h.now(),
		"Selected": selected, "SelectedCount": count, "SelectedFen": selectedFen,
		"OpenOrders": open, "Tabs": true,
	})
}

// total is the running total of the ticked bills (HTMX, on every tick).
func (h *Handler) total(c *fiber.Ctx) error {
	ids, err := billIDs(c)
	if err != nil {
		return err
	}
	n, fen, err := h.Billing.SelectionTotal(c.UserContext(), auth.Current(c).UserID, ids)
	if err != nil {
		return err
	}
	return h.Render.Fragment(c, "cashier/_total", fiber.Map{"Count": n, "TotalFen": fen})
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

type channelChoice struct {
	Name, Label, Hint string
}

func (h *Handler) channels(c *fiber.Ctx) ([]channelChoice, error) {
	var out []channelChoice
	for _, name := range h.Billing.LiveChannels(c.UserContext()) {
		hint := "扫码或跳转到支付页面完成支付"
		if name == "campuscard" {
			hint = "从校园卡余额扣款，需输入校园卡密码"
		}
		out = append(out, channelChoice{Name: name, Label: billing.ChannelLabel(name), Hint: hint})
	}
	return out, nil
}

// guestChannels are the live channels an off-campus payer can use: all but the campus card
// (it needs a card and a signed-in cardholder).
func (h *Handler) guestChannels(c *fiber.Ctx) []channelChoice {
	all, _ := h.channels(c)
	var out []channelChoice
	for _, ch := range all {
		if ch.Name != "campuscard" {
			out = append(out, ch)
		}
	}
	return out
}

// noGuestChannel is what an off-campus payer reads when no channel is open to them.
const noGuestChannel = "暂无可用的在线支付方式，暂时无法在线缴费。请联系收费部门，或稍后再试。"
