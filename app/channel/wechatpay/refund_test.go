package wechatpay_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wxsim "campuspay/app/sim/wechatpay"
)

func refundCall(e *env, no, refundNo string, fen, total int64) channel.RefundCall {
	return channel.RefundCall{Trade: channel.TradeRef{AttemptNo: no}, RefundNo: refundNo, AmountFen: fen,
		TotalFen: total, Reason: "退学退费", NotifyURL: e.notifyURL(), CreatedAt: time.Now().UTC()}
}

func TestPartialThenFullRefund(t *testing.T) {
	e := newEnv(t)
	e.paid(t, "WXF0001", 1000)
	if err := e.sim.SetSwitches(wxsim.Switches{HoldRefunds: true, RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	part := refundCall(e, "WXF0001", "RF0001", 300, 1000)
	first, err := e.p.Refund(ctx, part)
	if err != nil || first.Status != channel.RefundProcessing || first.AmountFen != 300 || first.RefundNo != "RF0001" || first.ChannelRefundNo == "" {
		t.Fatalf("partial refund = %+v, %v; want PROCESSING first", first, err)
	}
	again, err := e.p.Refund(ctx, part)
	if err != nil || again != first {
		t.Errorf("repeated refund = %+v, %v; want the same refund %+v", again, err, first)
	}
	if q, err := e.p.QueryRefund(ctx, part); err != nil || q != first {
		t.Errorf("query while processing = %+v, %v", q, err)
	}
	// The same refund number for another amount is refused, not a second refund.
	var api *wechatpay.APIError
	if _, err := e.p.Refund(ctx, refundCall(e, "WXF0001", "RF0001", 301, 1000)); !errors.As(err, &api) || api.Code != "INVALID_REQUEST" {
		t.Errorf("refund number reused for another amount: %v", err)
	}

	if n := e.sim.SettleRefunds(); n != 1 {
		t.Fatalf("settled %d refunds", n)
	}
	r := e.next(t)
	q, err := e.p.QueryRefund(ctx, part)
	if r.err != nil || r.notice.Kind != channel.NoticeRefund || r.notice.Refund != q || q.Status != channel.RefundSucceeded ||
		q.AmountFen != 300 || q.ChannelRefundNo != first.ChannelRefundNo {
		t.Errorf("notification %+v (%v) and query %+v (%v) must agree on a succeeded refund", r.notice.Refund, r.err, q, err)
	}
	if r.notice.Trade.OrderNo != "WXF0001" || r.notice.Trade.AmountFen != 1000 || r.notice.Trade.MerchantNo != e.values["mchid"] {
		t.Errorf("refund notice trade = %+v", r.notice.Trade)
	}

	rest := refundCall(e, "WXF0001", "RF0002", 700, 1000)
	if res, err := e.p.Refund(ctx, rest); err != nil || res.Status != channel.RefundProcessing {
		t.Fatalf("full remainder = %+v, %v", res, err)
	}
	if _, err := e.p.Refund(ctx, refundCall(e, "WXF0001", "RF0003", 1, 1000)); !errors.As(err, &api) || api.Code != "NOT_ENOUGH" {
		t.Errorf("refund beyond the total: %v, want NOT_ENOUGH", err)
	}
	e.sim.SettleRefunds()
	if r := e.next(t); r.err != nil || r.notice.Refund.Status != channel.RefundSucceeded || r.notice.Refund.AmountFen != 700 {
		t.Errorf("second refund notice = %+v, %v", r.notice.Refund, r.err)
	}
	// A trade with refunds is still a paid trade.
	if tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXF0001"}); err != nil || tr.Status != channel.TradeSuccess {
		t.Errorf("query after refunds = %+v, %v", tr, err)
	}
}

func TestRefundOutcomes(t *testing.T) {
	e := newEnv(t)
	e.paid(t, "WXO0001", 500)
	for _, tt := range []struct {
		outcome string
		want    channel.RefundStatus
		says    string
	}{
		{"ABNORMAL", channel.RefundAbnormal, "异常"},
		{"CLOSED", channel.RefundClosed, "关闭"},
		{"SUCCESS", channel.RefundSucceeded, "成功"},
	} {
		t.Run(tt.outcome, func(t *testing.T) {
			if err := e.sim.SetSwitches(wxsim.Switches{RefundOutcome: tt.outcome, RetryEvery: 10 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			call := refundCall(e, "WXO0001", "RO"+tt.outcome, 100, 500)
			res, err := e.p.Refund(ctx, call)
			if err != nil || res.Status != channel.RefundProcessing {
				t.Fatalf("Refund = %+v, %v", res, err)
			}
			r := e.next(t)
			q, err := e.p.QueryRefund(ctx, call)
			if r.err != nil || r.notice.Kind != channel.NoticeRefund || r.notice.Refund != q || q.Status != tt.want ||
				!strings.Contains(q.Message, tt.says) {
				t.Errorf("notice %+v (%v), query %+v (%v); want both %s", r.notice.Refund, r.err, q, err, tt.want)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.pay(t, "WXK0001", channel.WayWxNative, 1)
	old := e.sim.Serial()

	t.Run("platform certificate rotated", func(t *testing.T) {
		newSerial := e.sim.RotatePlatformCert()
		if newSerial == old {
			t.Fatal("rotation kept the serial")
		}
		if _, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXK0001"}); err != nil {
			t.Fatalf("query answered under the new certificate: %v", err)
		}
		if err := e.sim.Pay("WXK0001"); err != nil {
			t.Fatal(err)
		}
		r := e.next(t)
		if r.err != nil || r.header.Get("Wechatpay-Serial") != newSerial || r.notice.Kind != channel.NoticePaid {
			t.Errorf("notification under %s: %+v, %v", r.header.Get("Wechatpay-Serial"), r.notice, r.err)
		}
	})

	transition := e.open(t, with(e.values, "verify_mode", "transition"), nil)
	pubOnly := e.open(t, with(e.values, "verify_mode", "public_key"), nil)
	certOnly := e.p
	query := func(p channel.Provider) error {
		_, err := p.Query(ctx, channel.TradeRef{AttemptNo: "WXK0001"})
		return err
	}
	t.Run("switch to the public key", func(t *testing.T) {
		if err := query(pubOnly); err == nil {
			t.Error("public-key mode accepted an answer signed by a certificate")
		}
		if err := e.sim.SetMode(wxsim.ModePublicKey); err != nil {
			t.Fatal(err)
		}
		if err := query(transition); err != nil {
			t.Errorf("transition mode: %v", err)
		}
		if err := query(pubOnly); err != nil {
			t.Errorf("public-key mode: %v", err)
		}
		wantUnavailable(t, query(certOnly), "应答签名无法验证")
		e.setDoor(transition, nil)
		saved := e.p
		e.p = transition
		e.pay(t, "WXK0002", channel.WayWxNative, 1)
		e.p = saved
		if err := e.sim.Pay("WXK0002"); err != nil {
			t.Fatal(err)
		}
		if r := e.next(t); r.err != nil || !strings.HasPrefix(r.header.Get("Wechatpay-Serial"), "PUB_KEY_ID_") {
			t.Errorf("notification under %s: %v", r.header.Get("Wechatpay-Serial"), r.err)
		}
		// Back to certificates: transition mode still follows.
		if err := e.sim.SetMode(wxsim.ModePlatformCert); err != nil {
			t.Fatal(err)
		}
		if err := query(transition); err != nil {
			t.Errorf("transition mode back on certificates: %v", err)
		}
	})
	t.Run("public key rotated", func(t *testing.T) {
		if err := e.sim.SetMode(wxsim.ModePublicKey); err != nil {
			t.Fatal(err)
		}
		id := e.sim.RotatePublicKey()
		wantUnavailable(t, query(pubOnly), "应答签名无法验证")
		renewed := e.open(t, with(e.values, "verify_mode", "public_key", "public_key_id", id,
			"public_key", e.sim.MerchantValues()["public_key"]), nil)
		if err := query(renewed); err != nil {
			t.Errorf("with the new public key: %v", err)
		}
	})
}

func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	ref := channel.TradeRef{AttemptNo: "WXU0001"}
	e.pay(t, "WXU0001", channel.WayWxNative, 1)
	t.Run("answers 500", func(t *testing.T) {
		_ = e.sim.SetSwitches(wxsim.Switches{Unavailable: true})
		_, err := e.p.Query(ctx, ref)
		wantUnavailable(t, err, "SYSTEM_ERROR", "稍后重试")
	})
	t.Run("answers garbage", func(t *testing.T) {
		_ = e.sim.SetSwitches(wxsim.Switches{Garbage: true})
		_, err := e.p.Query(ctx, ref)
		wantUnavailable(t, err, "无法解析")
	})
	_ = e.sim.SetSwitches(wxsim.Switches{})
	t.Run("signature refused", func(t *testing.T) {
		other := newEnv(t) // another merchant key under the same merchant number
		p := e.open(t, with(e.values, "private_key", other.values["private_key"]), nil)
		_, err := p.Pay(ctx, channel.PayRequest{AttemptNo: "WXU0002", Way: channel.WayWxNative, AmountFen: 1, NotifyURL: e.notifyURL()})
		wantUnavailable(t, err, "SIGN_ERROR", "商户API私钥")
	})
	t.Run("wrong APIv3 key", func(t *testing.T) {
		p := e.open(t, with(e.values, "apiv3_key", strings.Repeat("k", 32)), nil)
		_, err := p.Query(ctx, ref)
		wantUnavailable(t, err, "APIv3")
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := with(e.values, "api_base", "http://127.0.0.1:1/sim/wechatpay")
		p := e.open(t, dead, nil)
		_, err := p.Query(ctx, ref)
		wantUnavailable(t, err, "无法连接微信支付接口 127.0.0.1:1")
		_, err = p.Statement(ctx, time.Now())
		wantUnavailable(t, err, "127.0.0.1:1")
	})
}

func TestPartnerMode(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, e.sim.PartnerValues(), nil)
	e.setDoor(p, nil)
	res, err := p.Pay(ctx, channel.PayRequest{AttemptNo: "WXP0001", Way: channel.WayWxJSAPI, AmountFen: 800,
		Subject: "院系培训费", NotifyURL: e.notifyURL(), OpenID: e.sim.OpenID()})
	if err != nil || res.JSAPI["appId"] != e.sim.AppID() {
		t.Fatalf("partner JSAPI = %+v, %v", res, err)
	}
	tr, _ := e.sim.Trade("WXP0001")
	if !tr.Partner || tr.SubMchID != e.sim.SubMchID() || tr.MchID != e.sim.MchID() || tr.OpenID != e.sim.OpenID() {
		t.Errorf("the fake recorded %+v, want a partner trade for the sub-merchant", tr)
	}
	if err := e.sim.Pay("WXP0001"); err != nil {
		t.Fatal(err)
	}
	r := e.next(t)
	if r.err != nil || r.notice.Kind != channel.NoticePaid || r.notice.Trade.MerchantNo != e.sim.SubMchID() || r.notice.Trade.AmountFen != 800 {
		t.Errorf("partner notice = %+v, %v; want the sub-merchant", r.notice.Trade, r.err)
	}
	q, err := p.Query(ctx, channel.TradeRef{AttemptNo: "WXP0001"})
	if err != nil || q.Status != channel.TradeSuccess || q.MerchantNo != e.sim.SubMchID() {
		t.Errorf("partner query = %+v, %v", q, err)
	}
	call := channel.RefundCall{Trade: channel.TradeRef{AttemptNo: "WXP0001"}, RefundNo: "RP0001", AmountFen: 800, TotalFen: 800, NotifyURL: e.notifyURL()}
	if rf, err := p.Refund(ctx, call); err != nil || rf.Status != channel.RefundProcessing {
		t.Fatalf("partner refund = %+v, %v", rf, err)
	}
	if r := e.next(t); r.err != nil || r.notice.Refund.Status != channel.RefundSucceeded || r.notice.Trade.MerchantNo != e.sim.SubMchID() {
		t.Errorf("partner refund notice = %+v, %v", r.notice, r.err)
	}
	st, err := p.Statement(ctx, time.Now())
	if err != nil || len(st.Lines) != 2 {
		t.Errorf("partner statement = %+v, %v", st.Lines, err)
	}
	// The direct merchant does not see the sub-merchant's trade.
	if tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXP0001"}); err != nil || tr.Status != channel.TradeNotFound {
		t.Errorf("direct query of a partner trade = %+v, %v", tr, err)
	}
}

func TestOAuth(t *testing.T) {
	e := newEnv(t)
	if u := wechatpay.OAuthURL("wx1234567890abcdef", "https://pay.example.edu.cn/cashier/wx?a=1", "s1"); u !=
		"https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef&redirect_uri=https%3A%2F%2Fpay.example.edu.cn%2Fcashier%2Fwx%3Fa%3D1&response_type=code&scope=snsapi_base&state=s1#wechat_redirect" {
		t.Errorf("OAuthURL = %s", u)
	}
	o := e.p.(wechatpay.OAuth)
	start := o.OAuthURL("https://pay.example.edu.cn/cashier/wx", "st-42")
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Host != "pay.example.edu.cn" || back.Query().Get("state") != "st-42" {
		t.Fatalf("authorize = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := back.Query().Get("code")
	openid, err := o.OpenID(ctx, code)
	if err != nil || openid != e.sim.OpenID() {
		t.Errorf("OpenID = %q, %v", openid, err)
	}
	if _, err := o.OpenID(ctx, code); err == nil || !strings.Contains(err.Error(), "40029") {
		t.Errorf("a used code: %v, want 40029", err)
	}
	noSecret := e.open(t, with(e.values, "app_secret", ""), nil).(wechatpay.OAuth)
	if _, err := noSecret.OpenID(ctx, "x"); err == nil || !strings.Contains(err.Error(), "app_secret") {
		t.Errorf("without the app secret: %v", err)
	}
}
