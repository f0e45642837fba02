package console

// Placeholders until this area is built: each answers 501. The engineer building the
// area deletes this file.

import "github.com/gofiber/fiber/v2"

func (h *Handler) settingsForm(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) settingsSave(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) userList(c *fiber.Ctx) error          { return fiber.ErrNotImplemented }
func (h *Handler) userNew(c *fiber.Ctx) error           { return fiber.ErrNotImplemented }
func (h *Handler) userCreate(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) userEdit(c *fiber.Ctx) error          { return fiber.ErrNotImplemented }
func (h *Handler) userUpdate(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) userResetPassword(c *fiber.Ctx) error { return fiber.ErrNotImplemented }
func (h *Handler) departmentList(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) departmentSave(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) rosterList(c *fiber.Ctx) error        { return fiber.ErrNotImplemented }
func (h *Handler) rosterImportForm(c *fiber.Ctx) error  { return fiber.ErrNotImplemented }
func (h *Handler) rosterImport(c *fiber.Ctx) error      { return fiber.ErrNotImplemented }
func (h *Handler) rosterTemplate(c *fiber.Ctx) error    { return fiber.ErrNotImplemented }
func (h *Handler) auditList(c *fiber.Ctx) error         { return fiber.ErrNotImplemented }
