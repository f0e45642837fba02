package console

// Placeholders until this area is built: each answers 501. The engineer building the
// area deletes this file.

import "github.com/gofiber/fiber/v2"

func (h *Handler) itemList(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) itemNew(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) itemCreate(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) itemShow(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) itemEdit(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) itemUpdate(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) itemSubmit(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) itemApprove(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) itemReject(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) itemSuspend(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) itemResume(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) itemClose(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) itemPoster(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) billList(c *fiber.Ctx) error       { return fiber.ErrNotImplemented }
func (h *Handler) billCreate(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) billImportForm(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (h *Handler) billImport(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) billTemplate(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *Handler) importStatus(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *Handler) itemProgress(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *Handler) unpaidList(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
func (h *Handler) unpaidExport(c *fiber.Ctx) error   { return fiber.ErrNotImplemented }
func (h *Handler) billCancel(c *fiber.Ctx) error     { return fiber.ErrNotImplemented }
