package channel

import (
	"slices"
	"testing"
)

// Real user agents, as the browsers and apps sent them.
const (
	uaIPhoneSafari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaAndroidChrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36"
	uaHuaweiBrowser = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.13.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.5.302 Mobile Safari/537.36"
	uaWeChatIOS     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
	uaWeChatAndroid = "Mozilla/5.0 (Linux; Android 13; V2196A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160083 MMWEBSDK/20240301 MMWEBID/6168 MicroMessenger/8.0.48.2580(0x28003036) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	uaWeChatWindows = "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13) XWEB/9129 Flue"
	uaWeCom         = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
	uaAlipayIOS     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Ariver/1.1.0 AliApp(AP/10.5.96.6000) Nebula WK RVKType(0) AlipayDefined(nt:WIFI,ws:390|844|3.0) AlipayClient/10.5.96.6000 Language/zh-Hans Region/CN NebulaX/1.0.0"
	uaAlipayAndroid = "Mozilla/5.0 (Linux; U; Android 13; zh-CN; 22081212C Build/TKQ1.220905.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 UCBS/3.22.2.59_230807145128 ChannelId(5) NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:393|0|2.75) AliApp(AP/10.5.26.8000) AlipayClient/10.5.26.8000 Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CNAriver/1.0.0"
	uaUnionPayApp   = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (updebug 0) (version 1004) (UnionPay/1.0 CloudPay) (clientVersion 204) (language zh_CN) (languageFamily zh_CN)"
	uaDesktopChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	uaDesktopEdge   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.81"
	uaMacSafari     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)

var allWays = []Way{WayAliQR, WayAliWAP, WayAliPC, WayWxNative, WayWxJSAPI, WayWxH5, WayUpPC, WayUpWAP, WayCard, WaySandbox}

func TestPlaceAndWaysByUserAgent(t *testing.T) {
	tests := []struct {
		name  string
		ua    string
		place Place
		ways  []Way // of every way there is, those offered there, best first
	}{
		{"iPhone Safari", uaIPhoneSafari, PlacePhone, []Way{WayWxH5, WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"Android Chrome", uaAndroidChrome, PlacePhone, []Way{WayWxH5, WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"Huawei browser", uaHuaweiBrowser, PlacePhone, []Way{WayWxH5, WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"WeChat on iPhone", uaWeChatIOS, PlaceWeChat, []Way{WayWxJSAPI, WayUpWAP, WayCard, WaySandbox}},
		{"WeChat on Android", uaWeChatAndroid, PlaceWeChat, []Way{WayWxJSAPI, WayUpWAP, WayCard, WaySandbox}},
		{"WeChat on Windows", uaWeChatWindows, PlacePC, []Way{WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox}},
		{"WeCom is not WeChat", uaWeCom, PlacePhone, []Way{WayWxH5, WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"Alipay on iPhone", uaAlipayIOS, PlaceAlipay, []Way{WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"Alipay on Android", uaAlipayAndroid, PlaceAlipay, []Way{WayAliWAP, WayUpWAP, WayCard, WaySandbox}},
		{"云闪付", uaUnionPayApp, PlaceUnionPay, []Way{WayUpWAP, WayCard, WaySandbox}},
		{"desktop Chrome", uaDesktopChrome, PlacePC, []Way{WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox}},
		{"desktop Edge", uaDesktopEdge, PlacePC, []Way{WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox}},
		{"Mac Safari", uaMacSafari, PlacePC, []Way{WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox}},
		{"no user agent", "", PlacePC, []Way{WayWxNative, WayAliQR, WayAliPC, WayUpPC, WayCard, WaySandbox}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			place := PlaceOf(tt.ua)
			if place != tt.place {
				t.Fatalf("PlaceOf = %s, want %s", place, tt.place)
			}
			if got := WaysAt(place, allWays); !slices.Equal(got, tt.ways) {
				t.Errorf("WaysAt(%s, every way) = %v, want %v", place, got, tt.ways)
			}
		})
	}
}

func TestWaysAtKeepsOnlyWhatAChannelOffers(t *testing.T) {
	alipay := []Way{WayAliQR, WayAliWAP, WayAliPC}
	if got := WaysAt(PlaceWeChat, alipay); len(got) != 0 {
		t.Errorf("Alipay inside WeChat = %v, want none (WeChat blocks Alipay's pages)", got)
	}
	if got := WaysAt(PlacePhone, alipay); !slices.Equal(got, []Way{WayAliWAP}) {
		t.Errorf("Alipay on a phone = %v, want [ALI_WAP]", got)
	}
	wechat := []Way{WayWxNative, WayWxJSAPI, WayWxH5}
	if got := WaysAt(PlaceAlipay, wechat); len(got) != 0 {
		t.Errorf("WeChat Pay inside Alipay = %v, want none", got)
	}
	if got := WaysAt(PlacePC, wechat); !slices.Equal(got, []Way{WayWxNative}) {
		t.Errorf("WeChat Pay on a PC = %v, want [WX_NATIVE]", got)
	}
}
