package cashier

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/billing"
	"campuspay/app/web"
	"campuspay/store"
)

// payLinkPurpose binds a pay_url token to paying one bill: a token minted for anything
// else (a hand-off QR code) opens nothing here.
const payLinkPurpose = "paylink"

// BillLink returns what makes a bill's pay_url (billing.Service.BillLink): the cashier's
// /pay/b/<token>, the token carrying the bill's id and its expiry (billing.PayLinkExpiry)
// under an HMAC, and nothing else.
func BillLink(baseURL string, signer auth.Signer) func(*store.Bill) string {
	return func(b *store.Bill) string {
		return baseURL + "/pay/b/" + signer.Sign(payLinkPurpose, strconv.FormatInt(b.ID, 10), billing.PayLinkExpiry(b))
	}
}

// payLink is where a business system sends its user to pay a bill (the API's pay_url). A
// payer on the roster is signed in to the cashier with the bill ticked; an off-campus payer
// goes straight to an order for the bill. A link that is forged, expired, or for a bill
// paid or cancelled since, says so.
func (h *Handler) payLink(c *fiber.Ctx) error {
	id, ok := h.Signer.Verify(payLinkPurpose, c.Params("token"), h.now())
	if !ok {
		return h.payLinkPage(c, fiber.StatusGone, "缴费链接无效或已过期", "请回到原业务系统重新打开缴费链接；已登录的校内缴费人也可直接在“待缴费用”中缴费。", nil)
	}
	bill, err := h.Billing.PayLinkBill(c.UserContext(), id)
	if err != nil {
		return err
	}
	switch bill.Status {
	case store.BillCancelled:
		return h.payLinkPage(c, fiber.StatusGone, "该账单已取消", "无需缴费。如有疑问，请联系开具账单的部门。", bill)
	case store.BillPaid, store.BillRefunded:
		return h.payLinkPage(c, fiber.StatusOK, "该账单已缴清", "无需再次缴费。", bill)
	}
	if bill.PayerID == nil {
		return h.payLinkGuest(c, bill)
	}
	u, err := h.Auth.User(c.UserContext(), *bill.PayerID)
	if err != nil {
		return err
	}
	if u.Disabled {
		return h.payLinkPage(c, fiber.StatusForbidden, "此账号已停用", "请联系财务处。", bill)
	}
	next := "/pay?bill=" + strconv.FormatInt(bill.ID, 10)
	if p := auth.Current(c); p != nil && p.UserID == u.ID {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	// A link opens a payer's cashier, never a staff member's console: a payer who is also
	// staff signs in with their password.
	if u.Roles != store.RolePayer {
		return c.Redirect(web.LoginURL(next), fiber.StatusSeeOther)
	}
	timeout := h.sessionTimeout(c.UserContext())
	if err := auth.SignIn(c, u, timeout); err != nil {
		return err
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// payLinkGuest hands an off-campus payer the order paying their bill.
func (h *Handler) payLinkGuest(c *fiber.Ctx, bill *store.Bill) error {
	merchantID := store.DefaultMerchantID
	if bill.Item != nil {
		merchantID = bill.Item.MerchantID
	}
	chans := h.guestChoices(c, merchantID)
	if len(chans) == 0 {
		return h.payLinkPage(c, fiber.StatusServiceUnavailable, "暂无可用的支付方式", noGuestChannel, bill)
	}
	order, created, err := h.Billing.CreateBillOrder(c.UserContext(), bill.ID, chans[0].Channel)
	if err != nil {
		return err
	}
	if err := auth.AddGuestOrder(c, order.OrderNo); err != nil {
		return err
	}
	if created || order.PayURL == "" {
		return h.pay(c, order, order.Channel, "")
	}
	return web.Redirect(c, orderPath(order))
}

func (h *Handler) payLinkPage(c *fiber.Ctx, status int, title, text string, bill *store.Bill) error {
	return h.Render.Render(c.Status(status), "cashier/paylink", title, fiber.Map{
		"Heading": title, "Text": text, "Bill": bill, "OK": status == fiber.StatusOK,
	})
}
