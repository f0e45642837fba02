package cashier_test

import (
	"context"
	"encoding/json"
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

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]+)"( data-autosubmit)?>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// postedForm reads the first form of a page (the first marked data-autosubmit when auto):
// its action, resolved against the page's address, and its hidden fields.
func postedForm(t *testing.T, pageURL, page string, auto bool) (string, url.Values) {
	t.Helper()
	var m []string
	for _, f := range formRE.FindAllStringSubmatch(page, -1) {
		if !auto || f[2] != "" {
			m = f
			break
		}
	}
	if m == nil {
		t.Fatalf("page %s has no form to post\n%s", pageURL, page)
	}
	base, _ := url.Parse(pageURL)
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	fields := url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(page[strings.Index(page, m[0]):], -1) {
		fields.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return action.String(), fields
}

// waitOrderPaid asks the channels about the order until it is paid, within a deadline.
func waitOrderPaid(t *testing.T, p *servertest.Platform, orderNo string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o, err := p.Billing.SyncOrder(context.Background(), orderNo)
		if err == nil && o.Status == store.OrderPaid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not paid within 15 s: %v", orderNo, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastOrder(t *testing.T, p *servertest.Platform) *store.Order {
	t.Helper()
	o := new(store.Order)
	if err := p.DB.NewSelect().Model(o).OrderExpr("id DESC").Limit(1).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

// UnionPay's phone way is a form the payer's browser posts to UnionPay: the cashier answers
// with a page holding it (posted at once by its script, or by its button). UnionPay's page
// posts the payer back, which leads to the order, paid.
func TestPhonePaysWithUnionPayForm(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := browserAs(t, p, uaAndroidChrome)
		b.Login(student, password)
		b.Get("/pay")
		code, page, _ := b.Post("/pay/orders", url.Values{"bill": {billIDs(t, p, student)["CET-2026-12"]}, "channel": {"unionpay"}})
		if code != http.StatusOK || !strings.Contains(page, "data-autosubmit") || !strings.Contains(page, "/static/js/pay.") {
			t.Fatalf("pay with unionpay: status %d, want the page that posts UnionPay's form\n%s", code, page)
		}
		order := lastOrder(t, p)
		action, fields := postedForm(t, p.URL+"/pay/orders", page, true)
		if u, _ := url.Parse(action); u.Path != "/sim/unionpay/gateway/api/frontTransReq.do" || fields.Get("orderId") != order.OrderNo || fields.Get("signature") == "" {
			t.Fatalf("form posts to %s with orderId %q, want UnionPay's front transaction of order %s, signed", action, fields.Get("orderId"), order.OrderNo)
		}

		// Asked again (the payer came back before paying), the cashier cannot post the same
		// form twice: it says so instead of sending the payer to a page that answers nothing.
		if _, orderPage := b.Get("/pay/orders/" + order.OrderNo); !strings.Contains(orderPage, "已打开银联在线支付（演示）的支付页面") {
			t.Error("order page of a posted UnionPay form does not say its page was opened")
		}
		if code, again, _ := b.Post("/pay/orders/"+order.OrderNo+"/pay", url.Values{"channel": {"unionpay"}}); code != http.StatusConflict || !strings.Contains(again, "已打开的支付页面") {
			t.Errorf("paying the same UnionPay attempt again: status %d, want 409 saying to finish on the page already open", code)
		}

		// At UnionPay (its fake): the posted form opens its page; paying there gives a page
		// that posts the result back to the platform.
		code, page, _ = b.Do("POST", action, fields, false)
		if code != http.StatusOK || !strings.Contains(page, "¥30.00") {
			t.Fatalf("UnionPay's page: status %d, want ¥30.00\n%s", code, page)
		}
		payAt, token := postedForm(t, action, page, false)
		code, page, _ = b.Do("POST", payAt, token, false)
		back, result := postedForm(t, payAt, page, false)
		if u, _ := url.Parse(back); code != http.StatusOK || u.Path != "/pay/return/"+order.OrderNo {
			t.Fatalf("paying at UnionPay: status %d, posts back to %s, want /pay/return/%s", code, back, order.OrderNo)
		}
		// Posted from UnionPay's site: no token, no session cookie; it leads to the return.
		code, _, resp := p.NewBrowser(t).Do("POST", back, result, false)
		if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/return/"+order.OrderNo {
			t.Fatalf("posted return: status %d to %q, want 303 to /pay/return/%s", code, resp.Header.Get("Location"), order.OrderNo)
		}
		if code, _, resp = b.Do("GET", "/pay/return/"+order.OrderNo, nil, false); code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/orders/"+order.OrderNo {
			t.Fatalf("return: status %d to %q, want 303 to the order", code, resp.Header.Get("Location"))
		}
		waitOrderPaid(t, p, order.OrderNo)
	})
}

// Inside WeChat, WeChat Pay's sheet needs the payer's openid: the cashier asks WeChat (its
// fake) once, with a state kept in the session and good once, and then shows the page that
// opens the sheet. The sheet pays the order; a second payment in the session asks no more.
func TestWeChatPaysInsideWeChatAfterOAuth(t *testing.T) {
	servertest.Each(t, servertest.Options{Demo: true}, func(t *testing.T, p *servertest.Platform) {
		b := browserAs(t, p, uaWeChatAndroid)
		b.Login(student, password)
		ids := billIDs(t, p, student)
		b.Get("/pay")
		code, _, resp := b.Post("/pay/orders", url.Values{"bill": {ids["CET-2026-12"]}, "channel": {"wechatpay"}})
		order := lastOrder(t, p)
		if code != http.StatusSeeOther || resp.Header.Get("Location") != "/pay/orders/"+order.OrderNo+"/oauth?channel=wechatpay&way=WX_JSAPI" {
			t.Fatalf("pay with wechatpay inside WeChat: status %d to %q, want 303 to the order's authorisation", code, resp.Header.Get("Location"))
		}
		code, _, resp = b.Do("GET", resp.Header.Get("Location"), nil, false)
		authorize, err := url.Parse(resp.Header.Get("Location"))
		if code != http.StatusSeeOther || err != nil || authorize.Path != "/sim/wechatpay/connect/oauth2/authorize" ||
			authorize.Query().Get("redirect_uri") != p.URL+"/pay/oauth/wechatpay" || authorize.Query().Get("scope") != "snsapi_base" {
			t.Fatalf("authorisation: status %d to %q, want WeChat's snsapi_base back to %s/pay/oauth/wechatpay", code, resp.Header.Get("Location"), p.URL)
		}
		state := authorize.Query().Get("state")

		// A stranger's state is refused; nothing is paid.
		stranger := browserAs(t, p, uaWeChatAndroid)
		stranger.Login(student, password)
		if code, _ := stranger.Get("/pay/oauth/wechatpay?code=x&state=" + state); code != http.StatusBadRequest {
			t.Errorf("callback with another session's state: status %d, want 400", code)
		}

		// WeChat sends the payer back with a code: the sheet's page.
		code, _, resp = b.Do("GET", authorize.String(), nil, false)
		callback := resp.Header.Get("Location")
		if code != http.StatusFound || !strings.HasPrefix(callback, p.URL+"/pay/oauth/wechatpay?") {
			t.Fatalf("WeChat's authorisation: status %d to %q, want the callback", code, callback)
		}
		code, page := b.Get(callback)
		params := regexp.MustCompile(`data-params="([^"]+)"`).FindStringSubmatch(page)
		if code != http.StatusOK || params == nil || !strings.Contains(page, "/static/js/pay.") {
			t.Fatalf("callback: status %d, want the page that opens WeChat's sheet\n%s", code, page)
		}
		// The state is good once.
		if code, _ := b.Get(callback); code != http.StatusBadRequest {
			t.Errorf("the same callback again: status %d, want 400", code)
		}

		// WeChat's sheet (its fake plays it as a page) checks paySign and pays.
		var sheet map[string]string
		if err := json.Unmarshal([]byte(html.UnescapeString(params[1])), &sheet); err != nil {
			t.Fatal(err)
		}
		q := url.Values{"return": {p.URL + "/pay/return/" + order.OrderNo}}
		for k, v := range sheet {
			q.Set(k, v)
		}
		sheetURL := p.URL + "/sim/wechatpay/jsapi?" + q.Encode()
		code, page = b.Get(sheetURL)
		if code != http.StatusOK || !strings.Contains(page, "确认支付") {
			t.Fatalf("WeChat's sheet: status %d, want it to offer to pay\n%s", code, page)
		}
		action, fields := postedForm(t, sheetURL, page, false)
		if code, _, _ := b.Do("POST", action, fields, false); code != http.StatusSeeOther {
			t.Fatalf("paying in WeChat's sheet: status %d, want 303 back", code)
		}
		waitOrderPaid(t, p, order.OrderNo)

		// The session keeps the openid: the next payment opens the sheet's page at once.
		b.Get("/pay")
		code, page, _ = b.Post("/pay/orders", url.Values{"bill": {ids["DORM-2026"]}, "channel": {"wechatpay"}})
		if code != http.StatusOK || !strings.Contains(page, "data-params=") {
			t.Errorf("second payment inside WeChat: status %d, want the sheet's page without asking WeChat again", code)
		}
	})
}
