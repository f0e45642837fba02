package api

import "github.com/gofiber/fiber/v2"

// v1Routes lists every endpoint of API.md. Each is signed (authenticate) and logged.
func (h *Handler) v1Routes(r fiber.Router) {
	r.Post("/bills", h.billCreate)
	r.Post("/bills/batch", h.billBatch)
	r.Get("/bills/:bill_no", h.billShow)
	r.Post("/bills/:bill_no/cancel", h.billCancel)
	r.Post("/bills/:bill_no/refunds", h.refundCreate)
	r.Get("/refunds/:refund_no", h.refundShow)
	r.Put("/payers", h.payersSync)
	r.All("/*", func(c *fiber.Ctx) error {
		return &apiError{Status: fiber.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + c.Method() + " " + c.Path()}
	})
}
