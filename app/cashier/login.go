package cashier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/bizday"
	"campuspay/app/settings"
	"campuspay/app/web"
	"campuspay/store"
)

func (h *Handler) loginForm(c *fiber.Ctx) error {
	if p := auth.Current(c); p != nil {
		next := safeNext(c.Query("next"))
		if next == "/pay" && !p.Has(store.RolePayer) {
			next = "/console"
		}
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return h.Render.Render(c, "cashier/login", "登录", fiber.Map{"Next": safeNext(c.Query("next")), "Bare": true, "SSO": h.ssoLinks(c)})
}

func (h *Handler) login(c *fiber.Ctx) error {
	login, password, next := strings.TrimSpace(c.FormValue("login")), c.FormValue("password"), safeNext(c.FormValue("next"))
	data := fiber.Map{"Login": login, "Next": next, "Bare": true, "SSO": h.ssoLinks(c)}
	if login == "" || password == "" {
		data["Error"] = "请输入学号/工号和密码"
		return h.Render.Render(c.Status(fiber.StatusUnprocessableEntity), "cashier/login", "登录", data)
	}
	u, err := h.Auth.Authenticate(c.UserContext(), login, password, c.IP())
	var locked *auth.LockedError
	switch {
	case errors.As(err, &locked):
		data["Error"] = "登录失败次数过多，请于 " + locked.Until.In(bizday.Shanghai).Format("15:04") + " 后再试"
	case errors.Is(err, auth.ErrBadCredentials):
		data["Error"] = "学号/工号或密码不正确"
	case errors.Is(err, auth.ErrDisabled):
		data["Error"] = "此账号已停用，请联系财务处"
	case err != nil:
		return err
	}
	if err != nil {
		return h.Render.Render(c.Status(fiber.StatusUnprocessableEntity), "cashier/login", "登录", data)
	}
	timeout := h.sessionTimeout(c.UserContext())
	if err := auth.SignInNotice(c, u, timeout, h.signInNotice(c.UserContext(), u)); err != nil {
		return err
	}
	if next == "/pay" && !u.HasRole(store.RolePayer) {
		next = "/console" // staff land in the console unless they asked for a page
	}
	return web.Redirect(c, next)
}

func (h *Handler) logout(c *fiber.Ctx) error {
	if err := auth.SignOut(c); err != nil {
		return err
	}
	return web.Redirect(c, "/login")
}

// safeNext keeps a post-login redirect on this site (web.LocalPath); anything else goes to
// the home page: /pay, which the callers turn into /console for staff.
func safeNext(next string) string {
	if p, ok := web.LocalPath(next); ok {
		return p
	}
	return "/pay"
}

// signInNotice is what the owner of an account is told on the first page after signing
// in when someone failed to sign in to it since their previous sign-in; "" when no one did.
func (h *Handler) signInNotice(ctx context.Context, u *store.User) string {
	f, err := h.Auth.FailedSince(ctx, u)
	if err != nil {
		h.Log.Warn("failed sign-ins", "user", u.Login, "err", err)
		return ""
	}
	if f.Count == 0 {
		return ""
	}
	return fmt.Sprintf("自您上次登录以来，您的账号有 %d 次登录失败，最近一次在 %s，来自 %s。如非本人操作，请尽快修改密码或联系财务处。",
		f.Count, f.Last.In(bizday.Shanghai).Format("2006-01-02 15:04"), strings.Join(f.Addresses, "、"))
}

// sessionTimeout is how long a session lives without use (the session-timeout setting).
func (h *Handler) sessionTimeout(ctx context.Context) time.Duration {
	return time.Duration(h.Billing.Settings.Int(ctx, settings.SessionTimeoutMinutes)) * time.Minute
}
