package cashier

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"

	"campuspay/app/auth"
	"campuspay/app/web"
	"campuspay/store"
)

func sendQR(c *fiber.Ctx, content string, size int) error {
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	return c.Send(png)
}

// orderQR is the QR code of the channel's pay page, to scan with a phone.
func (h *Handler) orderQR(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if o.PayURL == "" {
		return fiber.NewError(fiber.StatusNotFound, "此订单没有支付二维码")
	}
	return sendQR(c, o.PayURL, 320)
}

const handoffPurpose = "handoff"

// handoffQR is a QR code a PC user shows to continue the same order on their phone: it
// opens this order (and only it) in the phone's browser, until the order expires.
func (h *Handler) handoffQR(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	return sendQR(c, h.handoffURL(o), 256)
}

// handoffURL is the link that opens order o on another device until it expires.
func (h *Handler) handoffURL(o *store.Order) string {
	return h.BaseURL + "/h/" + h.Signer.Sign(handoffPurpose, o.OrderNo, o.ExpiresAt)
}

// handoff opens an order handed over from another device.
func (h *Handler) handoff(c *fiber.Ctx) error {
	orderNo, ok := h.Signer.Verify(handoffPurpose, c.Params("token"), time.Now())
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "二维码已失效，请在电脑上重新打开订单")
	}
	if err := auth.AddGuestOrder(c, orderNo); err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+orderNo)
}
