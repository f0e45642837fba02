package console

import (
	"errors"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/settings"
	"campuspay/store"
)

// userFormData is what the user form shows: the values as typed, the choices, the errors.
type userFormData struct {
	ID           int64
	Login        string
	Name         string
	PayerNo      string
	PayerNoFixed bool // a payer number, once given, is not edited
	Phone        string
	Roles        []string
	DepartmentID int64
	Errors       map[string]string
}

// HasRole tells the form which role boxes are ticked.
func (f *userFormData) HasRole(r string) bool { return slices.Contains(f.Roles, r) }

type roleChoice struct{ Value, Label string }

func roleChoices() []roleChoice {
	var out []roleChoice
	for _, r := range auth.AllRoles {
		out = append(out, roleChoice{r, auth.RoleLabel(r)})
	}
	return out
}

// userInput reads the user form.
func userInput(c *fiber.Ctx) auth.UserInput {
	var roles []string
	for _, v := range c.Request().PostArgs().PeekMulti("roles") {
		roles = append(roles, string(v))
	}
	dept, _ := strconv.ParseInt(c.FormValue("department"), 10, 64)
	return auth.UserInput{Login: c.FormValue("login"), Name: c.FormValue("name"), PayerNo: c.FormValue("payer_no"),
		Phone: c.FormValue("phone"), Roles: roles, DepartmentID: dept, Password: c.FormValue("password")}
}

func formFromInput(in auth.UserInput) *userFormData {
	return &userFormData{Login: in.Login, Name: in.Name, PayerNo: in.PayerNo, Phone: in.Phone, Roles: in.Roles, DepartmentID: in.DepartmentID, Errors: map[string]string{}}
}

func formFromUser(u *store.User) *userFormData {
	f := &userFormData{ID: u.ID, Login: u.Login, Name: u.Name, PayerNo: u.PayerNumber(), PayerNoFixed: u.PayerNo != nil,
		Phone: u.Phone, Roles: u.RoleList(), Errors: map[string]string{}}
	if u.DepartmentID != nil {
		f.DepartmentID = *u.DepartmentID
	}
	return f
}

// userFormError puts a refused input beside its field; other errors go on.
func userFormError(form *userFormData, err error) bool { return formError(form.Errors, err) }

// formError records an auth.InputError under its field ("form" for the whole form) and
// reports whether err was one.
func formError(errs map[string]string, err error) bool {
	var ie *auth.InputError
	if !errors.As(err, &ie) {
		return false
	}
	for field, msg := range ie.Fields {
		if field == "" {
			field = "form"
		}
		errs[field] = msg
	}
	return true
}

// passwordPolicy is the policy the settings set.
func (h *Handler) passwordPolicy(c *fiber.Ctx) auth.PasswordPolicy {
	return auth.PasswordPolicy{
		MinLength:        int(h.Settings.Int(c.UserContext(), settings.PasswordMinLength)),
		LettersAndDigits: h.Settings.Bool(c.UserContext(), settings.PasswordLettersDigits),
	}
}

// by is the acting administrator, for the audit log and the checks on oneself.
func by(c *fiber.Ctx) auth.Actor {
	p := auth.Current(c)
	return auth.Actor{UserID: p.UserID, Login: p.Login, IP: c.IP()}
}

// userNotFound turns a missing user or department into a 404.
func userNotFound(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "记录不存在")
	}
	return err
}

// renderUserForm shows the new-user or edit-user form (status 422 when it carries errors).
func (h *Handler) renderUserForm(c *fiber.Ctx, form *userFormData, user *store.User) error {
	depts, err := h.Auth.AllDepartments(c.UserContext())
	if err != nil {
		return err
	}
	if len(form.Errors) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	data := fiber.Map{"Form": form, "Departments": depts, "Roles": roleChoices(), "Policy": h.passwordPolicy(c)}
	if user == nil {
		return h.page(c, "console/users_new", "新建用户", data)
	}
	recent, _, err := store.AuditLogs(c.UserContext(), h.Auth.DB, store.AuditFilter{TargetType: "user", TargetID: user.Login, Limit: 10})
	if err != nil {
		return err
	}
	data["Account"], data["Recent"], data["Flash"] = user, recent, userFlash[c.Query("ok")]
	data["Self"] = user.ID == auth.Current(c).UserID
	return h.page(c, "console/users_edit", user.Name, data)
}

// userFlash are the notes a redirect back to the edit page may ask for.
var userFlash = map[string]string{
	"created":  "用户已创建",
	"updated":  "已保存",
	"disabled": "已停用：该用户无法再登录，已登录的会话也已失效",
	"enabled":  "已启用",
}
