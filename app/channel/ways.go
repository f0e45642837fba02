package channel

import "strings"

// Place is where the payer's browser is, as far as paying goes.
type Place string

const (
	PlacePC       Place = "pc"       // a desktop browser (or WeChat/Alipay on a PC): show QR codes
	PlacePhone    Place = "phone"    // a phone's own browser: jump to the company's app or page
	PlaceWeChat   Place = "wechat"   // inside the WeChat app on a phone
	PlaceAlipay   Place = "alipay"   // inside the Alipay app
	PlaceUnionPay Place = "unionpay" // inside the UnionPay (云闪付) app
)

// PlaceOf reads the place from a User-Agent header. It is the only place in the platform
// that looks at user agents for paying.
func PlaceOf(userAgent string) Place {
	ua := strings.ToLower(userAgent)
	pcWeChat := strings.Contains(ua, "windowswechat") || strings.Contains(ua, "macwechat")
	switch {
	case strings.Contains(ua, "micromessenger") && !strings.Contains(ua, "wxwork") && !pcWeChat:
		return PlaceWeChat
	case strings.Contains(ua, "alipayclient"):
		return PlaceAlipay
	case strings.Contains(ua, "unionpay") || strings.Contains(ua, "cloudpay"):
		return PlaceUnionPay
	case pcWeChat:
		return PlacePC
	case strings.Contains(ua, "mobile") || strings.Contains(ua, "android") ||
		strings.Contains(ua, "iphone") || strings.Contains(ua, "ipod") || strings.Contains(ua, "harmonyos"):
		return PlacePhone
	}
	return PlacePC
}

// waysAt lists, for each place, the ways that work there, best first. Inside WeChat only
// WeChat's own payment sheet opens (WeChat blocks Alipay's pages); inside Alipay, WeChat's
// H5 cannot leave for the WeChat app; a phone cannot scan its own screen, so QR ways are
// for PCs only. Ways a company does not restrict (campus card, sandbox, UnionPay's page)
// work everywhere.
var waysAt = map[Place][]Way{
	PlacePC:       {WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox},
	PlacePhone:    {WayWxH5, WayAliWAP, WayUpWAP, WayCard, WaySandbox},
	PlaceWeChat:   {WayWxJSAPI, WayUpWAP, WayCard, WaySandbox},
	PlaceAlipay:   {WayAliWAP, WayUpWAP, WayCard, WaySandbox},
	PlaceUnionPay: {WayUpWAP, WayCard, WaySandbox},
}

// WaysAt keeps, from the ways a channel offers, those that work at place, in the order
// they are best there. A channel whose ways all fail there offers nothing.
func WaysAt(place Place, offered []Way) []Way {
	var out []Way
	for _, w := range waysAt[place] {
		for _, o := range offered {
			if o == w {
				out = append(out, w)
				break
			}
		}
	}
	return out
}
