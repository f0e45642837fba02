package cashier

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/auth"
	"campuspay/app/channel"
	"campuspay/store"
)

// Inside WeChat, WeChat Pay takes the payer's openid for the merchant's official account:
// the cashier asks WeChat for it once per session (snsapi_base, which asks the payer
// nothing) and keeps it in the session. Session keys of an authorisation under way (one at
// a time, good once) and of the openids it gave:
const (
	oauthState   = "pay_oauth_state"
	oauthOrder   = "pay_oauth_order"
	oauthChannel = "pay_oauth_channel"
	oauthWay     = "pay_oauth_way"
	oauthAt      = "pay_oauth_at"
	// oauthWindow is how long the payer may take at WeChat.
	oauthWindow = 10 * time.Minute
)

func openIDKey(merchantID int64, name string) string {
	return fmt.Sprintf("pay_openid_%d_%s", merchantID, name)
}

// sessionOpenID is the payer's openid for the merchant's account at the channel, when
// this session has it.
func (h *Handler) sessionOpenID(c *fiber.Ctx, merchantID int64, name string) string {
	sess := auth.Session(c)
	if sess == nil {
		return ""
	}
	id, _ := sess.Get(openIDKey(merchantID, name)).(string)
	return id
}

// oauther is the channel's provider for the order's merchant when it needs the payer's
// identity first.
func (h *Handler) oauther(c *fiber.Ctx, o *store.Order, name string) (channel.OAuther, bool) {
	gw, err := h.Billing.GatewayFor(c.UserContext(), name, o.MerchantID)
	if err != nil {
		return nil, false // billing.Pay says why
	}
	oa, ok := gw.Provider.(channel.OAuther)
	return oa, ok
}

func (h *Handler) needsOAuth(c *fiber.Ctx, o *store.Order, name string) bool {
	_, ok := h.oauther(c, o, name)
	return ok
}

// oauthCallbackURL is where the company sends the payer back: <base URL>/pay/oauth/<channel>.
func (h *Handler) oauthCallbackURL(name string) (string, error) {
	base, err := url.Parse(h.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", fmt.Errorf("cashier: base url %q: %v", h.BaseURL, err)
	}
	return base.JoinPath("pay", "oauth", name).String(), nil
}

// oauthStart sends the payer to the company to say who they are there, with a fresh state
// kept in the session; the callback then pays the order by the way asked for.
func (h *Handler) oauthStart(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	name, way := c.Query("channel"), channel.Way(c.Query("way"))
	oa, ok := h.oauther(c, o, name)
	if !ok || o.Status != store.OrderOpen {
		return c.Redirect(orderPath(o), fiber.StatusSeeOther)
	}
	if way, err = h.wayHere(c, name, way); err != nil {
		return err
	}
	back, err := h.oauthCallbackURL(name)
	if err != nil {
		return err
	}
	state := randomState()
	sess := auth.Session(c)
	sess.Set(oauthState, state)
	sess.Set(oauthOrder, o.OrderNo)
	sess.Set(oauthChannel, name)
	sess.Set(oauthWay, string(way))
	sess.Set(oauthAt, h.now().Unix())
	if err := auth.SaveSession(c, sess); err != nil {
		return err
	}
	return c.Redirect(oa.OAuthURL(back, state), fiber.StatusSeeOther)
}

// oauthCallback is where the company sends the payer back with a code: the state must be
// the session's (and is then used up), the code is exchanged for the openid, which the
// session keeps, and the order is paid.
func (h *Handler) oauthCallback(c *fiber.Ctx) error {
	sess := auth.Session(c)
	want, _ := sess.Get(oauthState).(string)
	orderNo, _ := sess.Get(oauthOrder).(string)
	name, _ := sess.Get(oauthChannel).(string)
	way, _ := sess.Get(oauthWay).(string)
	at, _ := sess.Get(oauthAt).(int64)
	for _, k := range []string{oauthState, oauthOrder, oauthChannel, oauthWay, oauthAt} {
		sess.Delete(k)
	}
	got := c.Query("state")
	fresh := h.now().Sub(time.Unix(at, 0)) <= oauthWindow
	if want == "" || !fresh || name != c.Params("channel") || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		h.Log.Info("pay oauth refused", "channel", c.Params("channel"), "ip", c.IP())
		if err := auth.SaveSession(c, sess); err != nil {
			return err
		}
		return fiber.NewError(fiber.StatusBadRequest, "授权已失效，请返回订单重新支付")
	}
	o, err := h.Billing.Order(c.UserContext(), orderNo)
	if err == nil && !canSee(c, o) {
		err = fiber.NewError(fiber.StatusNotFound, "订单不存在")
	}
	var openID string
	if err == nil {
		openID, err = h.openID(c, o, name)
	}
	if err == nil {
		sess.Set(openIDKey(o.MerchantID, name), openID)
	}
	if serr := auth.SaveSession(c, sess); serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	return h.payWith(c, o, name, channel.Way(way), openID, nil)
}

// openID exchanges the callback's code for the payer's openid.
func (h *Handler) openID(c *fiber.Ctx, o *store.Order, name string) (string, error) {
	oa, ok := h.oauther(c, o, name)
	if !ok {
		return "", fiber.NewError(fiber.StatusConflict, h.Billing.Label(name)+"暂时无法使用，请稍后或换用其他方式")
	}
	ctx, cancel := outbound(c)
	defer cancel()
	id, err := oa.OpenID(ctx, c.Query("code"))
	if err != nil || id == "" {
		h.Log.Warn("pay oauth: openid", "order", o.OrderNo, "channel", name, "err", err)
		return "", fiber.NewError(fiber.StatusBadGateway, "未能取得"+h.Billing.Label(name)+"的授权，请返回订单重试")
	}
	return id, nil
}

func randomState() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("cashier: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
