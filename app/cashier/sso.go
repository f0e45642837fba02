package cashier

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/settings"
	"campuspay/app/web"
	"campuspay/store"
)

// Single sign-on for the cashier and the console (one login page): CAS 3.0 and OpenID
// Connect, configured in 系统参数 › 统一身份认证. Staff land in the console, payers in /pay.

// ssoLinks says which single sign-on buttons the login page shows.
type ssoLinks struct{ CAS, OIDC bool }

// Any reports whether the login page shows at least one.
func (l ssoLinks) Any() bool { return l.CAS || l.OIDC }

func (h *Handler) ssoLinks(c *fiber.Ctx) ssoLinks {
	cfg, _ := h.oidcConfig(c.UserContext())
	return ssoLinks{CAS: h.casClient(c.UserContext()) != nil, OIDC: cfg != nil}
}

// casClient is the CAS client when CAS sign-in is on, otherwise nil.
func (h *Handler) casClient(ctx context.Context) *auth.CAS {
	st := h.Billing.Settings
	if !st.Bool(ctx, settings.CASEnabled) || st.Get(ctx, settings.CASURL) == "" {
		return nil
	}
	return &auth.CAS{ServerURL: st.Get(ctx, settings.CASURL), Protocol2: st.Bool(ctx, settings.CASProtocol2), Client: h.ssoHTTP}
}

// casService is our callback as the CAS server knows it: the same address at login and at
// validation, carrying where to go afterwards.
func (h *Handler) casService(next string) string {
	return h.BaseURL + "/auth/cas/callback?" + url.Values{"next": {next}}.Encode()
}

// oidcConfig is the OIDC client's configuration when OIDC sign-in is on, otherwise nil.
func (h *Handler) oidcConfig(ctx context.Context) (*auth.OIDC, error) {
	st := h.Billing.Settings
	if !st.Bool(ctx, settings.OIDCEnabled) || st.Get(ctx, settings.OIDCIssuer) == "" || st.Get(ctx, settings.OIDCClientID) == "" {
		return nil, nil
	}
	cfg := &auth.OIDC{
		Issuer: st.Get(ctx, settings.OIDCIssuer), ClientID: st.Get(ctx, settings.OIDCClientID),
		RedirectURL: h.BaseURL + "/auth/oidc/callback", Scopes: strings.Fields(st.Get(ctx, settings.OIDCScopes)),
		Claims: auth.OIDCClaimNames{
			Login: st.Get(ctx, settings.OIDCClaimLogin), PayerNo: st.Get(ctx, settings.OIDCClaimPayerNo),
			Name: st.Get(ctx, settings.OIDCClaimName), Phone: st.Get(ctx, settings.OIDCClaimPhone),
		},
	}
	if h.Secrets != nil {
		secret, err := st.Secret(ctx, settings.OIDCClientSecret, h.Secrets)
		if err != nil {
			return cfg, err
		}
		cfg.ClientSecret = secret
	}
	return cfg, nil
}

// outbound bounds a call to the identity provider.
func outbound(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), 20*time.Second)
}

// ssoFailed answers with the login page and why single sign-on did not sign anyone in.
func (h *Handler) ssoFailed(c *fiber.Ctx, status int, next, msg string) error {
	data := fiber.Map{"Error": msg, "Next": next, "Bare": true, "SSO": h.ssoLinks(c)}
	return h.Render.Render(c.Status(status), "cashier/login", "登录", data)
}

// ssoSignIn signs in the user an identity provider vouched for and sends them on: staff
// asking for /pay go to the console. ticket is the CAS service ticket ("" for OIDC),
// remembered for single logout.
func (h *Handler) ssoSignIn(c *fiber.Ctx, id auth.Identity, next, ticket string) error {
	ctx := c.UserContext()
	opt := auth.SSOOptions{AutoCreate: h.Billing.Settings.Bool(ctx, settings.SSOAutoCreate)}
	u, err := h.Auth.SignInSSO(ctx, id, opt, c.IP())
	var se *auth.SSOError
	switch {
	case errors.Is(err, auth.ErrNoAccount):
		return h.ssoFailed(c, fiber.StatusForbidden, next, "您的统一身份认证账号尚未在统一支付平台开通，请联系财务处开通账号")
	case errors.Is(err, auth.ErrDisabled):
		return h.ssoFailed(c, fiber.StatusForbidden, next, "此账号已停用，请联系财务处")
	case errors.As(err, &se):
		return h.ssoFailed(c, fiber.StatusForbidden, next, se.Reason)
	case err != nil:
		return err
	}
	timeout := h.sessionTimeout(ctx)
	sessionID, err := auth.SignInVia(c, u, timeout, id.Provider) // /logout then ends a CAS session too
	if err != nil {
		return err
	}
	if ticket != "" {
		if err := h.Auth.RememberCASTicket(ctx, ticket, sessionID, u.Login); err != nil {
			return err
		}
	}
	if next == "/pay" && !u.HasRole(store.RolePayer) {
		next = "/console"
	}
	return web.Redirect(c, next)
}

// casLogin sends the visitor to the CAS server, to come back to casCallback with a ticket.
func (h *Handler) casLogin(c *fiber.Ctx) error {
	cas := h.casClient(c.UserContext())
	if cas == nil {
		return fiber.ErrNotFound
	}
	return c.Redirect(cas.LoginURL(h.casService(safeNext(c.Query("next")))), fiber.StatusSeeOther)
}

// casCallback validates the ticket the CAS server sent the visitor back with and signs in
// the user it names. A refused ticket signs no one in.
func (h *Handler) casCallback(c *fiber.Ctx) error {
	cas := h.casClient(c.UserContext())
	if cas == nil {
		return fiber.ErrNotFound
	}
	rawNext, ticket := c.Query("next"), c.Query("ticket")
	next := safeNext(rawNext)
	if ticket == "" {
		return h.ssoFailed(c, fiber.StatusBadRequest, next, "统一身份认证没有返回登录票据，请重新登录")
	}
	ctx, cancel := outbound(c)
	defer cancel()
	user, err := cas.Validate(ctx, h.casService(rawNext), ticket)
	var failure *auth.CASFailure
	switch {
	case errors.As(err, &failure):
		h.Log.Info("cas ticket refused", "code", failure.Code, "message", failure.Message, "ip", c.IP())
		return h.ssoFailed(c, fiber.StatusUnauthorized, next, "统一身份认证登录失败："+failure.Reason()+"（"+failure.Code+"），请重新登录")
	case err != nil:
		h.Log.Warn("cas validation failed", "err", err)
		return h.ssoFailed(c, fiber.StatusBadGateway, next, "暂时无法连接统一身份认证系统，请稍后再试")
	}
	st := h.Billing.Settings
	id := auth.Identity{
		Provider: auth.ProviderCAS, Subject: user.User, Login: user.User,
		PayerNo: user.Attr(st.Get(c.UserContext(), settings.CASAttrPayerNo)),
		Name:    user.Attr(st.Get(c.UserContext(), settings.CASAttrName)), Phone: user.Attr(st.Get(c.UserContext(), settings.CASAttrPhone)),
	}
	if id.PayerNo == "" {
		id.PayerNo = user.User // most schools' CAS user is the 学号/工号 itself
	}
	return h.ssoSignIn(c, id, next, ticket)
}

// casSingleLogout takes the CAS server's single-logout request (posted server to server:
// no session, no CSRF token) and ends the one session the named ticket opened.
func (h *Handler) casSingleLogout(c *fiber.Ctx) error {
	if h.casClient(c.UserContext()) == nil {
		return fiber.ErrNotFound
	}
	ticket, err := auth.ParseLogoutRequest(c.FormValue("logoutRequest"))
	if err != nil {
		h.Log.Info("cas logout request refused", "err", err, "ip", c.IP())
		return c.Status(fiber.StatusBadRequest).SendString("malformed logoutRequest")
	}
	if _, err := h.Auth.EndCASSession(c.UserContext(), ticket, c.IP()); err != nil {
		return err
	}
	return c.SendString("ok")
}

// logoutSSO ends the session and, for a user who came through CAS, the CAS session too.
func (h *Handler) logoutSSO(c *fiber.Ctx) error {
	cas := h.casClient(c.UserContext())
	if auth.SignedInVia(c) != auth.ProviderCAS || cas == nil {
		return h.logout(c)
	}
	if err := auth.SignOut(c); err != nil {
		return err
	}
	return web.Redirect(c, cas.LogoutURL(h.BaseURL+"/login"))
}

// Session keys of an OIDC sign-in under way.
const (
	oidcState    = "oidc_state"
	oidcNonce    = "oidc_nonce"
	oidcVerifier = "oidc_verifier"
	oidcNext     = "oidc_next"
	oidcAt       = "oidc_at"
	// oidcWindow is how long the visitor may take at the provider.
	oidcWindow = 10 * time.Minute
)

// oidcLogin sends the visitor to the provider with a fresh state, nonce and PKCE
// challenge, kept in their session until they come back.
func (h *Handler) oidcLogin(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"))
	cfg, err := h.oidcConfig(c.UserContext())
	if cfg == nil {
		return fiber.ErrNotFound
	}
	if err != nil {
		h.Log.Error("oidc client secret", "err", err)
		return h.ssoFailed(c, fiber.StatusBadGateway, next, "OIDC 单点登录配置有误，请联系管理员")
	}
	ctx, cancel := outbound(c)
	defer cancel()
	to, a, err := h.oidc.Begin(ctx, *cfg)
	if err != nil {
		h.Log.Warn("oidc discovery failed", "err", err)
		return h.ssoFailed(c, fiber.StatusBadGateway, next, ssoReason(err))
	}
	sess := auth.Session(c)
	sess.Set(oidcState, a.State)
	sess.Set(oidcNonce, a.Nonce)
	sess.Set(oidcVerifier, a.Verifier)
	sess.Set(oidcNext, next)
	sess.Set(oidcAt, time.Now().Unix())
	if err := auth.SaveSession(c, sess); err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// oidcCallback finishes the sign-in the visitor's session started and signs in the user
// the verified ID token names.
func (h *Handler) oidcCallback(c *fiber.Ctx) error {
	cfg, err := h.oidcConfig(c.UserContext())
	if cfg == nil {
		return fiber.ErrNotFound
	}
	sess := auth.Session(c)
	a := auth.OIDCAttempt{}
	a.State, _ = sess.Get(oidcState).(string)
	a.Nonce, _ = sess.Get(oidcNonce).(string)
	a.Verifier, _ = sess.Get(oidcVerifier).(string)
	next, _ := sess.Get(oidcNext).(string)
	next = safeNext(next)
	if at, _ := sess.Get(oidcAt).(int64); time.Since(time.Unix(at, 0)) > oidcWindow {
		a = auth.OIDCAttempt{} // too old: refused as a stranger's
	}
	// The attempt is not deleted here (a saved session must not be used again in this
	// request): signing in clears it, a code is good once at the provider, and it expires.
	switch {
	case err != nil:
		h.Log.Error("oidc client secret", "err", err)
		return h.ssoFailed(c, fiber.StatusBadGateway, next, "OIDC 单点登录配置有误，请联系管理员")
	case c.Query("error") == "access_denied":
		return h.ssoFailed(c, fiber.StatusUnauthorized, next, "您已取消统一身份认证登录，或未获授权使用本平台")
	case c.Query("error") != "":
		return h.ssoFailed(c, fiber.StatusUnauthorized, next, "统一身份认证未完成登录，请重新登录")
	}
	ctx, cancel := outbound(c)
	defer cancel()
	id, err := h.oidc.Finish(ctx, *cfg, a, c.Query("state"), c.Query("code"))
	if err != nil {
		h.Log.Info("oidc sign-in refused", "err", err, "ip", c.IP())
		status := fiber.StatusUnauthorized
		if se := (*auth.SSOError)(nil); errors.As(err, &se) && se.Unavailable {
			status = fiber.StatusBadGateway
		}
		return h.ssoFailed(c, status, next, ssoReason(err))
	}
	return h.ssoSignIn(c, id, next, "")
}

// ssoReason is what a person reads about err.
func ssoReason(err error) string {
	var se *auth.SSOError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "统一身份认证登录失败，请稍后再试"
}
