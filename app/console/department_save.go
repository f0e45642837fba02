package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
)

// departmentSave adds a department (no id) or renames one; codes are unique.
func (h *Handler) departmentSave(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	form := &departmentForm{ID: max(id, 0), Code: c.FormValue("code"), Name: c.FormValue("name"), Errors: map[string]string{}}
	if _, err := h.Auth.SaveDepartment(c.UserContext(), form.ID, form.Code, form.Name, by(c)); err != nil {
		if !formError(form.Errors, err) {
			return userNotFound(err)
		}
		return h.renderDepartments(c, form)
	}
	done := "created"
	if form.ID > 0 {
		done = "renamed"
	}
	return web.Redirect(c, "/console/departments?ok="+done)
}
