package cashier

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/channel"
)

// payChoice is one way of paying the cashier offers: a live channel and one of its ways
// that works where the payer is (channel.WaysAt).
type payChoice struct {
	Channel  string
	Way      channel.Way
	Label    string // the channel's, e.g. "支付宝（演示）"
	WayName  string // the way's, when the channel offers several here: "扫码支付"
	Hint     string
	Icon     string // one character on the tile
	Password bool   // the channel needs the payer's password (the campus card)
	Checked  bool   // the bills page shows this one chosen (see pick)
	// Value is what the form posts as "channel": the channel's name, with ":" and the way
	// when the channel offers several ways here (parseChoice reads both forms).
	Value string
}

// wayText is how the cashier names a way and says what happens with it.
var wayText = map[channel.Way]struct{ name, hint, icon string }{
	channel.WayAliQR:    {"扫码支付", "用手机支付宝扫描二维码付款", "扫"},
	channel.WayAliPC:    {"网页支付", "在支付宝网页登录账户付款", "付"},
	channel.WayAliWAP:   {"", "跳转到支付宝完成付款", "付"},
	channel.WayWxNative: {"扫码支付", "用手机微信扫一扫付款", "扫"},
	channel.WayWxJSAPI:  {"", "在微信中直接付款", "付"},
	channel.WayWxH5:     {"", "跳转到微信完成付款", "付"},
	channel.WayUpPC:     {"网页支付", "跳转到银联页面，用银行卡付款", "付"},
	channel.WayUpWAP:    {"", "跳转到银联页面，用银行卡或云闪付付款", "付"},
	channel.WayCard:     {"", "从校园卡余额扣款，需输入校园卡密码", "卡"},
	channel.WaySandbox:  {"", "扫码或跳转到支付页面完成支付", "扫"},
}

// place is where the payer's browser is, as far as paying goes.
func place(c *fiber.Ctx) channel.Place {
	return channel.PlaceOf(c.Get(fiber.HeaderUserAgent))
}

// choices are the ways of paying a merchant's bills here: per live channel, the ways that
// work where the payer is, best first; a channel with none here is not offered. guest
// keeps the channels open to off-campus payers.
func (h *Handler) choices(c *fiber.Ctx, merchantID int64, guest bool) []payChoice {
	at := place(c)
	var out []payChoice
	for _, name := range h.Billing.LiveChannelsFor(c.UserContext(), merchantID) {
		caps := h.Billing.Capabilities(name)
		if guest && !caps.Guests {
			continue
		}
		ways := channel.WaysAt(at, caps.Ways)
		label := h.Billing.Label(name)
		for _, w := range ways {
			ch := payChoice{Channel: name, Way: w, Label: label, Hint: wayText[w].hint, Icon: wayText[w].icon,
				Password: caps.NeedsPassword, Value: name}
			if len(ways) > 1 {
				ch.Value, ch.WayName = name+":"+string(w), wayText[w].name
			}
			if ch.Icon == "" {
				ch.Icon = "付"
			}
			out = append(out, ch)
		}
	}
	return out
}

// pick marks the choice whose form value was picked, or, when none was, the first: the
// bills page's template then places a flag instead of comparing values for each choice (a
// reflective call apiece, on the busiest page of term). A pick no longer offered marks none.
func pick(choices []payChoice, picked string) {
	for i := range choices {
		choices[i].Checked = choices[i].Value == picked || picked == "" && i == 0
	}
}

// firstPerChannel keeps each channel's best way: what "pay another way" lists.
func firstPerChannel(all []payChoice) []payChoice {
	var out []payChoice
	for _, ch := range all {
		if !slices.ContainsFunc(out, func(o payChoice) bool { return o.Channel == ch.Channel }) {
			ch.WayName = ""
			out = append(out, ch)
		}
	}
	return out
}

// parseChoice reads the channel and way a form posts: "channel" as "alipay" or
// "alipay:ALI_WAP", or a separate "way" field.
func parseChoice(c *fiber.Ctx) (string, channel.Way) {
	name, way, _ := strings.Cut(strings.TrimSpace(c.FormValue("channel")), ":")
	if w := c.FormValue("way"); w != "" {
		way = w
	}
	return name, channel.Way(way)
}

// wayHere is the way to pay through the channel here: the one asked for, which must work
// where the payer is, or the channel's best one here.
func (h *Handler) wayHere(c *fiber.Ctx, name string, way channel.Way) (channel.Way, error) {
	caps := h.Billing.Capabilities(name)
	if caps.Label == "" {
		return "", fiber.NewError(fiber.StatusUnprocessableEntity, "请选择支付方式")
	}
	ways := channel.WaysAt(place(c), caps.Ways)
	switch {
	case len(ways) == 0:
		return "", fiber.NewError(fiber.StatusUnprocessableEntity, h.Billing.Label(name)+"在当前环境下无法使用，请换用其他支付方式")
	case way == "":
		return ways[0], nil
	case !slices.Contains(ways, way):
		return "", fiber.NewError(fiber.StatusUnprocessableEntity, h.Billing.Label(name)+"不支持在当前环境下以这种方式支付，请重新选择")
	}
	return way, nil
}

// merchantName is a merchant's name for payers ("" when it cannot be read).
func (h *Handler) merchantName(ctx context.Context, id int64) string {
	m, err := h.Billing.Merchants.Merchant(ctx, id)
	if err != nil {
		h.Log.Warn("merchant name", "merchant", id, "err", err)
		return ""
	}
	return m.Name
}
