package console

import (
	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/web"
)

// userList lists users: search by login, name or payer number, filter by role.
func (h *Handler) userList(c *fiber.Ctx) error {
	pager := web.NewPager(c, 20)
	f := auth.UserFilter{Query: c.Query("q"), Role: c.Query("role"), Offset: pager.Offset(), Limit: pager.Size}
	users, total, err := h.Auth.Users(c.UserContext(), f)
	if err != nil {
		return err
	}
	pager.Total = total
	return h.page(c, "console/users_list", "用户与角色", fiber.Map{
		"Users": users, "Pager": pager, "Q": f.Query, "Role": f.Role, "Roles": roleChoices(),
	})
}
