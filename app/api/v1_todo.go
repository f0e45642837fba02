package api

// Placeholders until the endpoints are built: each answers 501.

import "github.com/gofiber/fiber/v2"

func (h *Handler) v1Routes(r fiber.Router) {
	r.All("/*", func(c *fiber.Ctx) error { return fiber.ErrNotImplemented })
}
