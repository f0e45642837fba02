package cashier_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/server/servertest"
	"campuspay/store"
)

// Real user agents, as the browsers and apps send them.
const (
	uaIPhoneSafari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaAndroidChrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36"
	uaWeChatAndroid = "Mozilla/5.0 (Linux; Android 13; V2196A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160083 MMWEBSDK/20240301 MMWEBID/6168 MicroMessenger/8.0.48.2580(0x28003036) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	uaAlipayIOS     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Ariver/1.1.0 AliApp(AP/10.5.96.6000) Nebula WK RVKType(0) AlipayDefined(nt:WIFI,ws:390|844|3.0) AlipayClient/10.5.96.6000 Language/zh-Hans Region/CN NebulaX/1.0.0"
	uaDesktopChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

// userAgent sends every request of a test browser with the user agent of a real one.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// browserAs is a fresh visitor whose browser is the one ua names.
func browserAs(t *testing.T, p *servertest.Platform, ua string) *servertest.Browser {
	b := p.NewBrowser(t)
	b.Client.Transport = userAgent{ua, http.DefaultTransport}
	return b
}

// choiceRE reads a channel tile's radio: the value the form posts and the way it pays by.
var choiceRE = regexp.MustCompile(`<input type="radio" name="channel" value="([^"]*)" data-way="([^"]*)"`)

// offered lists, per channel, the ways a page offers (in the page's order), and the value
// each tile posts by "channel:WAY".
func offered(t *testing.T, page string) (map[string][]channel.Way, map[string]string) {
	t.Helper()
	ways, values := map[string][]channel.Way{}, map[string]string{}
	for _, m := range choiceRE.FindAllStringSubmatch(page, -1) {
		value := html.UnescapeString(m[1])
		name, _, _ := strings.Cut(value, ":")
		ways[name] = append(ways[name], channel.Way(m[2]))
		values[name+":"+m[2]] = value
	}
	return ways, values
}

// The cashier offers each live channel of the demo by the ways that work where the payer
// is (channel.WaysAt): QR codes and PC pages on a PC, the companies' phone pages on a
// phone, only WeChat's own sheet inside WeChat, no WeChat inside Alipay. The campus card
// and the sandbox work everywhere; off-campus payers never see the campus card.
func TestChoicesFollowWhereThePayerIs(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		tests := []struct {
			name string
			ua   string
			want map[string][]channel.Way
		}{
			{"desktop Chrome", uaDesktopChrome, map[string][]channel.Way{
				"sandbox": {channel.WaySandbox}, "campuscard": {channel.WayCard},
				"alipay": {channel.WayAliQR, channel.WayAliPC}, "wechatpay": {channel.WayWxNative}, "unionpay": {channel.WayUpPC},
			}},
			{"iPhone Safari", uaIPhoneSafari, map[string][]channel.Way{
				"sandbox": {channel.WaySandbox}, "campuscard": {channel.WayCard},
				"alipay": {channel.WayAliWAP}, "wechatpay": {channel.WayWxH5}, "unionpay": {channel.WayUpWAP},
			}},
			{"Android Chrome", uaAndroidChrome, map[string][]channel.Way{
				"sandbox": {channel.WaySandbox}, "campuscard": {channel.WayCard},
				"alipay": {channel.WayAliWAP}, "wechatpay": {channel.WayWxH5}, "unionpay": {channel.WayUpWAP},
			}},
			{"WeChat on Android", uaWeChatAndroid, map[string][]channel.Way{
				"sandbox": {channel.WaySandbox}, "campuscard": {channel.WayCard},
				"wechatpay": {channel.WayWxJSAPI}, "unionpay": {channel.WayUpWAP},
			}},
			{"Alipay app", uaAlipayIOS, map[string][]channel.Way{
				"sandbox": {channel.WaySandbox}, "campuscard": {channel.WayCard},
				"alipay": {channel.WayAliWAP}, "unionpay": {channel.WayUpWAP},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := browserAs(t, p, tt.ua)
				b.Login(student, password)
				code, page := b.Get("/pay")
				if code != http.StatusOK {
					t.Fatalf("GET /pay: status %d", code)
				}
				got, _ := offered(t, page)
				if !equalWays(got, tt.want) {
					t.Errorf("bills page offers %v, want %v", got, tt.want)
				}
				if strings.Contains(page, "支付宝（演示）") != (len(tt.want["alipay"]) > 0) {
					t.Errorf("bills page names 支付宝（演示）: %v, want %v", !(len(tt.want["alipay"]) > 0), len(tt.want["alipay"]) > 0)
				}

				// The same ways for an off-campus payer, less the campus card.
				_, page = browserAs(t, p, tt.ua).Get("/i/DONATE-2026")
				got, _ = offered(t, page)
				guest := map[string][]channel.Way{}
				for name, ways := range tt.want {
					if name != "campuscard" {
						guest[name] = ways
					}
				}
				if !equalWays(got, guest) {
					t.Errorf("open item page offers %v, want %v", got, guest)
				}
			})
		}
	})
}

func equalWays(a, b map[string][]channel.Way) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// On a phone, Alipay's phone way sends the payer straight to Alipay's page (here its
// fake); paying there sends the payer back and the order is paid.
func TestPhonePaysWithAlipayWAP(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		b := browserAs(t, p, uaIPhoneSafari)
		b.Login(student, password)
		_, page := b.Get("/pay")
		_, values := offered(t, page)
		value, ok := values["alipay:"+string(channel.WayAliWAP)]
		if !ok {
			t.Fatalf("bills page on an iPhone offers %v, want alipay by ALI_WAP", values)
		}
		code, body, resp := b.Post("/pay/orders", url.Values{"bill": {billIDs(t, p, student)["CET-2026-12"]}, "channel": {value}})
		if code != http.StatusSeeOther {
			t.Fatalf("pay with alipay: status %d, want 303 to Alipay\n%s", code, body)
		}
		to, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || to.Scheme+"://"+to.Host != p.URL || to.Path != "/sim/alipay/gateway.do" {
			t.Fatalf("pay with alipay led to %q, want Alipay's gateway.do (its fake at %s)", resp.Header.Get("Location"), p.URL)
		}
		order := new(store.Order)
		if err := p.DB.NewSelect().Model(order).OrderExpr("id DESC").Limit(1).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		attempts, err := p.Billing.Attempts(ctx, order.ID)
		if err != nil || len(attempts) != 1 || attempts[0].Channel != "alipay" || attempts[0].Way != string(channel.WayAliWAP) {
			t.Fatalf("attempts of order %s: %v (%v), want one by alipay ALI_WAP", order.OrderNo, attempts, err)
		}

		// At Alipay: its gateway sends the payer to its cashier page, whose form pays.
		code, _, resp = b.Do("GET", to.String(), nil, false)
		if code != http.StatusFound {
			t.Fatalf("Alipay gateway.do: status %d, want 302 to its page", code)
		}
		pageURL, _ := to.Parse(resp.Header.Get("Location"))
		code, page = b.Get(pageURL.String())
		action := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(page)
		if code != http.StatusOK || action == nil || !strings.Contains(page, "确认支付") || !strings.Contains(page, "¥30.00") {
			t.Fatalf("Alipay's page: status %d, want ¥30.00 and a form to pay\n%s", code, page)
		}
		confirm, _ := pageURL.Parse(html.UnescapeString(action[1]))
		code, _, resp = b.Do("POST", confirm.String(), url.Values{"action": {"pay"}}, false)
		back, _ := url.Parse(resp.Header.Get("Location"))
		if code != http.StatusSeeOther || back == nil || back.Path != "/pay/return/"+order.OrderNo {
			t.Fatalf("paying at Alipay: status %d to %q, want 303 back to /pay/return/%s", code, resp.Header.Get("Location"), order.OrderNo)
		}
		if code, _, resp = b.Do("GET", back.String(), nil, false); code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/orders/"+order.OrderNo {
			t.Fatalf("return from Alipay: status %d to %q, want 303 to the order", code, resp.Header.Get("Location"))
		}

		// Paid, by the notification or by the return's query, whichever came first.
		deadline := time.Now().Add(15 * time.Second)
		for {
			o, err := p.Billing.SyncOrder(ctx, order.OrderNo)
			if err == nil && o.Status == store.OrderPaid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s not paid within 15 s: %v %v", order.OrderNo, o.Status, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, page := b.Get("/pay/orders/" + order.OrderNo); !strings.Contains(page, "支付成功") || !strings.Contains(page, "支付宝（演示）") {
			t.Errorf("order page after paying does not say 支付成功 by 支付宝（演示）")
		}
	})
}

// A payer whose bills collect into two merchants sees them apart, under each merchant's
// name, with the plain reason; ticking bills of both makes no order and says why, and each
// merchant's bills are then paid on their own.
func TestBillsOfTwoMerchantsArePaidApart(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		ctx := context.Background()
		now := store.UTC(time.Now())
		other := &store.Merchant{Name: "继续教育学院", CreatedAt: now, UpdatedAt: now}
		if _, err := p.DB.NewInsert().Model(other).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := p.DB.NewUpdate().Model((*store.ChargeItem)(nil)).Set("merchant_id = ?", other.ID).
			Where("code = ?", "DORM-2026").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		b := p.NewBrowser(t)
		b.Login(student, password)
		ids := billIDs(t, p, student)

		_, page := b.Get("/pay")
		for _, want := range []string{"以下款项分属不同收款单位，需分别支付", "收款单位：继续教育学院", "收款单位：学校统一第三方支付公司"} {
			if !strings.Contains(page, want) {
				t.Errorf("bills page does not say %q", want)
			}
		}
		// The dormitory fee is listed under its merchant, the exam fee under the school's.
		for fee, merchant := range map[string]string{"2026-2027学年住宿费": "继续教育学院", "大学英语四级考试费": "学校统一第三方支付公司"} {
			if got := headingBefore(page, fee); got != merchant {
				t.Errorf("%s listed under 收款单位 %q, want %q", fee, got, merchant)
			}
		}

		// Both ticked: the total says they are paid apart, and paying makes no order.
		_, frag, _ := b.Do("POST", "/pay/total", url.Values{"bill": {ids["DORM-2026"], ids["CET-2026-12"]}}, true)
		if !strings.Contains(frag, "分属不同收款单位，需分别支付") {
			t.Errorf("total of bills of two merchants = %q, want it to say they are paid apart", frag)
		}
		code, body, _ := b.Post("/pay/orders", url.Values{"bill": {ids["DORM-2026"], ids["CET-2026-12"]}, "channel": {"sandbox"}})
		if code != http.StatusBadRequest || !strings.Contains(body, "分属 2 个收款单位") || !strings.Contains(body, `class="alert alert-error"`) {
			t.Errorf("paying bills of two merchants: status %d, want 400 with the reason on the bills page\n%s", code, body)
		}
		if !regexp.MustCompile(`value="` + ids["DORM-2026"] + `" checked`).MatchString(body) {
			t.Error("the bills page shown again lost the payer's ticks")
		}
		if n := orderCount(t, p); n != 0 {
			t.Fatalf("%d orders made for bills of two merchants, want 0", n)
		}

		// Each merchant's bills on their own.
		orderNo := createOrder(t, b, "sandbox", ids["DORM-2026"])
		if o, err := p.Billing.Order(ctx, orderNo); err != nil || o.MerchantID != other.ID {
			t.Errorf("order for the dormitory fee: %v (%v), want it collected into merchant %d", o, err, other.ID)
		}
		orderNo = createOrder(t, b, "sandbox", ids["CET-2026-12"])
		if o, err := p.Billing.Order(ctx, orderNo); err != nil || o.MerchantID != store.DefaultMerchantID {
			t.Errorf("order for the exam fee: %v (%v), want it collected into the school's merchant", o, err)
		}
	})
}

// headingBefore is the merchant whose 收款单位 heading last comes before text in page.
func headingBefore(page, text string) string {
	at := strings.Index(page, text)
	if at < 0 {
		return ""
	}
	h := strings.LastIndex(page[:at], "收款单位：")
	if h < 0 {
		return ""
	}
	name, _, _ := strings.Cut(page[h+len("收款单位："):], "<")
	return name
}
