package cashier

import (
	"github.com/gofiber/fiber/v2"

	"fmt"
	"net/url"

	"campuspay/app/settings"
	"campuspay/store"
)

// receipt is a receipt fit to print (A5 landscape), for its payer or the visitor who paid.
func (h *Handler) receipt(c *fiber.Ctx) error {
	r, err := h.Billing.Receipt(c.UserContext(), c.Params("no"))
	if err != nil {
		return err
	}
	o := new(store.Order)
	if err := h.Billing.DB.NewSelect().Model(o).Where("id = ?", r.OrderID).Scan(c.UserContext()); err != nil {
		return err
	}
	if !canSee(c, o) {
		return fiber.NewError(fiber.StatusNotFound, "票据不存在")
	}
	verify, err := verifyURL(h.BaseURL, r.VerifyToken)
	if err != nil {
		return err
	}
	qr, err := qrDataURL(verify)
	if err != nil {
		return err
	}
	st := h.Billing.Settings
	return h.Render.Render(c, "cashier/receipt", "票据 "+r.ReceiptNo, fiber.Map{
		"Receipt": r, "Order": o, "QR": qr, "VerifyURL": verify,
		"Title":  st.Get(c.UserContext(), settings.ReceiptTitle),
		"Issuer": st.Get(c.UserContext(), settings.ReceiptIssuer),
		"School": st.Get(c.UserContext(), settings.SchoolName),
	})
}

// verify is the public page behind a receipt's QR code: is it genuine, is it current.
func (h *Handler) verify(c *fiber.Ctx) error {
	r, err := h.Billing.ReceiptByToken(c.UserContext(), c.Params("token"))
	if err != nil {
		return h.Render.Render(c.Status(fiber.StatusNotFound), "cashier/verify", "票据查验", fiber.Map{"Found": false})
	}
	return h.Render.Render(c, "cashier/verify", "票据查验", fiber.Map{"Found": true, "Receipt": r})
}

// verifyURL is the public address of a receipt's verification page: the one its QR code
// holds and its 验真 link opens. It is built from the parsed base URL, the token escaped
// as one path segment.
func verifyURL(base, token string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("cashier: base URL %q: not an absolute http(s) URL", base)
	}
	return u.JoinPath("r", token).String(), nil
}
