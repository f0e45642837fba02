package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
	"campuspay/store"
)

// departmentForm is the create-or-rename form above the list.
type departmentForm struct {
	ID     int64
	Code   string
	Name   string
	Errors map[string]string
}

// departmentList lists departments with the form to add one, or to rename the one asked
// for with ?edit=id.
func (h *Handler) departmentList(c *fiber.Ctx) error {
	form := &departmentForm{Errors: map[string]string{}}
	if id, _ := strconv.ParseInt(c.Query("edit"), 10, 64); id > 0 {
		form.ID = id
	}
	return h.renderDepartments(c, form)
}

func (h *Handler) renderDepartments(c *fiber.Ctx, form *departmentForm) error {
	pager := web.NewPager(c, 20)
	depts, total, err := h.Auth.Departments(c.UserContext(), pager.Offset(), pager.Size)
	if err != nil {
		return err
	}
	pager.Total = total
	if form.ID > 0 && form.Code == "" {
		d, err := h.department(c, form.ID)
		if err != nil {
			return err
		}
		form.Code, form.Name = d.Code, d.Name
	}
	if len(form.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	data := fiber.Map{"Departments": depts, "Pager": pager, "Form": form, "Flash": departmentFlash[c.Query("ok")]}
	return h.page(c, "console/departments", "部门", data)
}

var departmentFlash = map[string]string{"created": "部门已添加", "renamed": "部门已修改"}

// department finds one department among all (there are few).
func (h *Handler) department(c *fiber.Ctx, id int64) (*store.Department, error) {
	all, err := h.Auth.AllDepartments(c.UserContext())
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ID == id {
			return &all[i], nil
		}
	}
	return nil, fiber.NewError(fiber.StatusNotFound, "部门不存在")
}
