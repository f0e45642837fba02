package console

// Placeholders until this area is built: each answers 501. The engineer building the
// area deletes this file.

import "github.com/gofiber/fiber/v2"

func (h *Handler) refundList(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) refundNew(c *fiber.Ctx) error         { return fiber.ErrNotImplemented }
func (h *Handler) refundCreate(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) refundShow(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) refundApprove(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) refundReject(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) refundSync(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) overpaymentList(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *Handler) overpaymentRefund(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (h *Handler) receiptList(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) receiptBatch(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) receiptShow(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) receiptPrinted(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) receiptVoid(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
