package console

// Placeholders until this area is built: each answers 501. The engineer building the
// area deletes this file.

import "github.com/gofiber/fiber/v2"

func (h *Handler) dashboard(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (h *Handler) chart(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
