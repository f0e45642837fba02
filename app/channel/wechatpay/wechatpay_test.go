package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/wechatpay"
	wxsim "campuspay/app/sim/wechatpay"
)

var ctx = context.Background()

func TestDriver(t *testing.T) {
	d := wechatpay.New()
	if d.Name() != "wechatpay" {
		t.Errorf("Name = %q", d.Name())
	}
	c := d.Capabilities()
	if c.Label != "微信支付" || len(c.Ways) != 3 || c.Synchronous || !c.PartialRefund || c.Simulator {
		t.Errorf("Capabilities = %+v", c)
	}
	keys := map[string]bool{}
	for _, f := range d.Fields() {
		keys[f.Key] = true
		if f.Label == "" || f.Help == "" {
			t.Errorf("field %s has no label or help", f.Key)
		}
	}
	for _, k := range []string{"mchid", "appid", "cert_serial", "private_key", "apiv3_key", "verify_mode",
		"public_key_id", "public_key", "sp_mchid", "sp_appid", "sub_mchid", "sub_appid"} {
		if !keys[k] {
			t.Errorf("no field %s", k)
		}
	}
}

func TestOpenNamesTheBadField(t *testing.T) {
	e := newEnv(t)
	v := e.values
	pub := with(v, "verify_mode", "public_key")
	tests := []struct {
		name   string
		values map[string]string
		field  string
	}{
		{"private key not PEM", with(v, "private_key", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "private_key"},
		{"private key is a public key", with(v, "private_key", v["public_key"]), "private_key"},
		{"APIv3 key of 31 bytes", with(v, "apiv3_key", v["apiv3_key"][:31]), "apiv3_key"},
		{"APIv3 key of 33 bytes", with(v, "apiv3_key", v["apiv3_key"]+"x"), "apiv3_key"},
		{"no verification mode", with(v, "verify_mode", ""), "verify_mode"},
		{"unknown verification mode", with(v, "verify_mode", "cert"), "verify_mode"},
		{"public key id malformed", with(pub, "public_key_id", "0112ABCD"), "public_key_id"},
		{"public key missing", with(pub, "public_key", ""), "public_key"},
		{"public key garbage", with(pub, "public_key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), "public_key"},
		{"transition without public key", with(v, "verify_mode", "transition", "public_key", ""), "public_key"},
		{"mchid missing", with(v, "mchid", ""), "mchid"},
		{"appid malformed", with(v, "appid", "app123"), "appid"},
		{"serial malformed", with(v, "cert_serial", "not-hex"), "cert_serial"},
		{"plain http to another host", with(v, "api_base", "http://api.mch.weixin.qq.com"), "api_base"},
		{"api base with a query", with(v, "api_base", "https://api.mch.weixin.qq.com/?x=1"), "api_base"},
		{"partner without sub_mchid", with(v, "mchid", "", "appid", "", "sp_mchid", v["mchid"], "sp_appid", v["appid"]), "sub_mchid"},
		{"partner and direct at once", with(v, "sp_mchid", v["mchid"], "sp_appid", v["appid"], "sub_mchid", "1900000201"), "mchid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wechatpay.New().Open(channel.MerchantConfig{Values: tt.values})
			if err == nil {
				t.Fatal("Open accepted bad settings")
			}
			if !strings.Contains(err.Error(), "（"+tt.field+"）") {
				t.Errorf("err = %v, want it to name field %s", err, tt.field)
			}
		})
	}
	for _, mode := range []string{"platform_cert", "public_key", "transition"} {
		if _, err := wechatpay.New().Open(channel.MerchantConfig{Values: with(v, "verify_mode", mode)}); err != nil {
			t.Errorf("mode %s: %v", mode, err)
		}
	}
}

func TestPayWays(t *testing.T) {
	e := newEnv(t)
	expires := time.Now().Add(2 * time.Hour).UTC()

	t.Run("native", func(t *testing.T) {
		res := e.pay(t, "WXN0001", channel.WayWxNative, 1)
		if !strings.HasPrefix(res.QRContent, e.srv.URL+simBase+"/pay/") || res.RedirectURL != "" || res.JSAPI != nil {
			t.Errorf("result = %+v, want the code_url only", res)
		}
		tr, _ := e.sim.Trade("WXN0001")
		if tr.TradeType != "NATIVE" || tr.TotalFen != 1 || tr.AppID != e.values["appid"] || tr.MchID != e.values["mchid"] ||
			tr.Description != "2026 学年学费" || tr.NotifyURL != e.notifyURL() || tr.Expire.Sub(expires).Abs() > time.Second {
			t.Errorf("the fake recorded %+v", tr)
		}
		page, err := e.srv.Client().Get(res.QRContent)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(page.Body)
		page.Body.Close()
		if page.StatusCode != 200 || !strings.Contains(string(body), "确认支付") || !strings.Contains(string(body), "¥0.01") {
			t.Errorf("scan page: %d %s", page.StatusCode, body)
		}
	})

	t.Run("jsapi", func(t *testing.T) {
		res := e.pay(t, "WXJ0001", channel.WayWxJSAPI, 250)
		m := res.JSAPI
		if m == nil || res.QRContent != "" || res.RedirectURL != "" {
			t.Fatalf("result = %+v, want JSAPI parameters", res)
		}
		tr, _ := e.sim.Trade("WXJ0001")
		if tr.TradeType != "JSAPI" || tr.OpenID != e.sim.OpenID() || tr.TotalFen != 250 {
			t.Errorf("the fake recorded %+v", tr)
		}
		if m["appId"] != e.values["appid"] || m["package"] != "prepay_id="+tr.PrepayID || m["signType"] != "RSA" ||
			m["nonceStr"] == "" || m["timeStamp"] == "" {
			t.Errorf("JSAPI = %v", m)
		}
		sig, _ := base64.StdEncoding.DecodeString(m["paySign"])
		sum := sha256.Sum256([]byte(m["appId"] + "\n" + m["timeStamp"] + "\n" + m["nonceStr"] + "\n" + m["package"] + "\n"))
		if err := rsa.VerifyPKCS1v15(merchantPublicKey(t, e.values), crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("paySign does not verify with the merchant key: %v", err)
		}
		// The fake's payment sheet accepts the parameters and pays.
		sheet, err := e.srv.Client().Get(e.srv.URL + e.sim.SheetURL(m, ""))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(sheet.Body)
		sheet.Body.Close()
		if sheet.StatusCode != 200 || !strings.Contains(string(body), "确认支付") {
			t.Errorf("sheet: %d %s", sheet.StatusCode, body)
		}
		forged := with(m, "paySign", base64.StdEncoding.EncodeToString(make([]byte, 256)))
		if bad, _ := e.srv.Client().Get(e.srv.URL + e.sim.SheetURL(forged, "")); bad.StatusCode != 400 {
			t.Errorf("sheet with a forged paySign: %d, want 400", bad.StatusCode)
		}
	})

	t.Run("jsapi without openid", func(t *testing.T) {
		_, err := e.p.Pay(ctx, channel.PayRequest{AttemptNo: "WXJ0002", Way: channel.WayWxJSAPI, AmountFen: 1,
			NotifyURL: e.notifyURL()})
		if err == nil || !strings.Contains(err.Error(), "openid") {
			t.Errorf("err = %v, want openid needed", err)
		}
	})

	t.Run("h5", func(t *testing.T) {
		res := e.pay(t, "WXH0001", channel.WayWxH5, 99)
		u, err := url.Parse(res.RedirectURL)
		if err != nil || u.Host != strings.TrimPrefix(e.srv.URL, "http://") || u.Query().Get("redirect_url") != "https://pay.example.edu.cn/cashier/return" {
			t.Errorf("RedirectURL = %q", res.RedirectURL)
		}
		tr, _ := e.sim.Trade("WXH0001")
		if tr.TradeType != "MWEB" || tr.PayerIP != "203.0.113.7" || tr.TotalFen != 99 || u.Query().Get("prepay_id") != tr.PrepayID {
			t.Errorf("the fake recorded %+v", tr)
		}
	})

	t.Run("same number across trade types is refused", func(t *testing.T) {
		_, err := e.p.Pay(ctx, channel.PayRequest{AttemptNo: "WXN0001", Way: channel.WayWxH5, AmountFen: 1,
			NotifyURL: e.notifyURL(), PayerIP: "203.0.113.7"})
		var api *wechatpay.APIError
		if !errors.As(err, &api) || api.Code != "INVALID_REQUEST" {
			t.Errorf("err = %v, want INVALID_REQUEST", err)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, req := range []channel.PayRequest{
			{AttemptNo: "A1", Way: channel.WayWxNative, AmountFen: 1, NotifyURL: e.notifyURL()},
			{AttemptNo: "WXBAD0001", Way: channel.WayWxNative, AmountFen: 0, NotifyURL: e.notifyURL()},
			{AttemptNo: "WXBAD0002", Way: channel.WayAliQR, AmountFen: 1, NotifyURL: e.notifyURL()},
			{AttemptNo: "WXBAD0003", Way: channel.WayWxH5, AmountFen: 1, NotifyURL: e.notifyURL(), PayerIP: "somewhere"},
			{AttemptNo: "WXBAD0004", Way: channel.WayWxNative, AmountFen: 1, NotifyURL: "/relative"},
		} {
			if _, err := e.p.Pay(ctx, req); err == nil {
				t.Errorf("Pay(%+v) accepted", req)
			}
			if _, ok := e.sim.Trade(req.AttemptNo); ok {
				t.Errorf("%s reached the fake", req.AttemptNo)
			}
		}
	})
}

func TestQueryBeforeAndAfterPayment(t *testing.T) {
	e := newEnv(t)
	if tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "NEVER0001"}); err != nil || tr.Status != channel.TradeNotFound {
		t.Errorf("unknown trade: %+v, %v", tr, err)
	}
	e.pay(t, "WXQ0001", channel.WayWxNative, 1234)
	tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXQ0001"})
	if err != nil || tr.Status != channel.TradeWaiting || tr.AmountFen != 1234 || tr.TradeNo != "" {
		t.Fatalf("before payment: %+v, %v", tr, err)
	}
	before := time.Now().Add(-time.Second)
	if err := e.sim.Pay("WXQ0001"); err != nil {
		t.Fatal(err)
	}
	tr, err = e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXQ0001"})
	if err != nil || tr.Status != channel.TradeSuccess || tr.AmountFen != 1234 || tr.TradeNo == "" ||
		tr.AppID != e.values["appid"] || tr.MerchantNo != e.values["mchid"] || tr.PaidAt.Before(before) ||
		tr.PaidAt.Location() != time.UTC || !strings.Contains(tr.Raw, `"trade_state":"SUCCESS"`) {
		t.Fatalf("after payment: %+v, %v", tr, err)
	}
	n := e.next(t)
	if n.err != nil || n.notice.Kind != channel.NoticePaid || n.notice.Trade.TradeNo != tr.TradeNo ||
		n.notice.Trade.AmountFen != 1234 || !n.notice.Trade.PaidAt.Equal(tr.PaidAt) {
		t.Errorf("notification %+v (%v) disagrees with the query %+v", n.notice, n.err, tr)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t)
	e.pay(t, "WXC0001", channel.WayWxNative, 1)
	if err := e.p.Close(ctx, channel.TradeRef{AttemptNo: "WXC0001"}); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXC0001"}); err != nil || tr.Status != channel.TradeClosed {
		t.Errorf("after close: %+v, %v", tr, err)
	}
	if err := e.sim.Pay("WXC0001"); err == nil {
		t.Error("a closed trade could still be paid")
	}
	e.paid(t, "WXC0002", 1)
	err := e.p.Close(ctx, channel.TradeRef{AttemptNo: "WXC0002"})
	var api *wechatpay.APIError
	if !errors.As(err, &api) || api.Code != "ORDERPAID" {
		t.Errorf("closing a paid trade: %v, want ORDERPAID", err)
	}
}

func TestNotifications(t *testing.T) {
	e := newEnv(t)
	n := e.paid(t, "WXT0001", 500)
	if n.Kind != channel.NoticePaid || n.Trade.OrderNo != "WXT0001" || n.Trade.AmountFen != 500 ||
		n.Trade.AppID != e.values["appid"] || n.Trade.MerchantNo != e.values["mchid"] || n.Trade.TradeNo == "" ||
		!strings.Contains(n.Raw, `"out_trade_no":"WXT0001"`) {
		t.Fatalf("notice = %+v", n)
	}
	// Acknowledged with 204: the fake sends it once.
	if d := e.deliveries(t, 1); len(d) != 1 || d[0].Status != http.StatusNoContent || d[0].Event != "TRANSACTION.SUCCESS" {
		t.Errorf("deliveries = %+v", d)
	}

	good := e.paidRaw(t, "WXT0002", 700)

	stale := func(d time.Duration) channel.Provider {
		return e.open(t, e.values, func() time.Time { return time.Now().Add(d) })
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(h http.Header, body []byte, key *rsa.PrivateKey) http.Header {
		h = h.Clone()
		msg := h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"
		sum := sha256.Sum256([]byte(msg))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
		return h
	}
	tampered := []byte(strings.Replace(string(good.body), `"event_type":"TRANSACTION.SUCCESS"`, `"event_type":"TRANSACTION.SUCCESS" `, 1))
	if string(tampered) == string(good.body) {
		t.Fatal("tampering changed nothing")
	}
	tests := []struct {
		name   string
		p      channel.Provider
		header http.Header
		body   []byte
		want   error
		says   string
	}{
		{"tampered body", e.p, good.header, tampered, channel.ErrBadSignature, ""},
		{"signed with another key", e.p, resign(good.header, good.body, otherKey), good.body, channel.ErrBadSignature, ""},
		{"unknown serial", e.p, with2(good.header, "Wechatpay-Serial", "7132D72A03E93CDDF8C03BBD1F37EEDF"), good.body, channel.ErrBadSignature, "7132D72A"},
		{"no signature", e.p, with2(good.header, "Wechatpay-Signature", ""), good.body, channel.ErrBadSignature, ""},
		{"six minutes late", stale(6 * time.Minute), good.header, good.body, channel.ErrBadSignature, "5 minutes"},
		{"six minutes early", stale(-6 * time.Minute), good.header, good.body, channel.ErrBadSignature, "5 minutes"},
		{"too large", e.p, good.header, append(good.body, make([]byte, 70<<10)...), channel.ErrMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.p.Notification(ctx, tt.header, tt.body)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.says) {
				t.Errorf("Notification = %+v, %v; want %v saying %q", n, err, tt.want, tt.says)
			}
		})
	}
	t.Run("four minutes late is still on time", func(t *testing.T) {
		if n, err := stale(4*time.Minute).Notification(ctx, good.header, good.body); err != nil || n.Kind != channel.NoticePaid {
			t.Errorf("Notification = %+v, %v", n, err)
		}
	})
	t.Run("a replay decodes to the same notice", func(t *testing.T) {
		n, err := e.p.Notification(ctx, good.header, good.body)
		if err != nil || n.Trade != good.notice.Trade {
			t.Errorf("replay = %+v, %v; first = %+v", n.Trade, err, good.notice.Trade)
		}
	})
}

func with2(h http.Header, k, v string) http.Header {
	h = h.Clone()
	if v == "" {
		h.Del(k)
	} else {
		h.Set(k, v)
	}
	return h
}

// paidRaw pays no and returns the notification as the door received it.
func (e *env) paidRaw(t *testing.T, no string, fen int64) received {
	t.Helper()
	e.pay(t, no, channel.WayWxNative, fen)
	if err := e.sim.Pay(no); err != nil {
		t.Fatal(err)
	}
	r := e.next(t)
	if r.err != nil || r.notice.Kind != channel.NoticePaid {
		t.Fatalf("notification: %+v, %v", r.notice, r.err)
	}
	return r
}

func TestSignedButWrong(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.SetSwitches(wxsim.Switches{OtherMchID: "1900009999", OtherAppID: "wx0000000000000000",
		AmountDeltaFen: -99, RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	n := e.paid(t, "WXL0001", 100)
	if n.Kind != channel.NoticePaid || n.Trade.MerchantNo != "1900009999" || n.Trade.AppID != "wx0000000000000000" ||
		n.Trade.AmountFen != 1 || n.Trade.OrderNo != "WXL0001" {
		t.Errorf("notice = %+v, want the lie reported as told", n.Trade)
	}
	tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXL0001"})
	if err != nil || tr.MerchantNo != "1900009999" || tr.AppID != "wx0000000000000000" || tr.AmountFen != 1 {
		t.Errorf("query = %+v, %v; want the lie reported as told", tr, err)
	}
}

func TestNoticesToIgnore(t *testing.T) {
	e := newEnv(t)
	e.sim.SendEvent(e.notifyURL(), "TRANSACTION.CLOSED", map[string]any{"out_trade_no": "WXI0001", "trade_state": "CLOSED",
		"mchid": e.values["mchid"], "appid": e.values["appid"], "amount": map[string]any{"total": 1}})
	r := e.next(t)
	if r.err != nil || r.notice.Kind != channel.NoticeIgnore || !strings.Contains(r.notice.Reason, "TRANSACTION.CLOSED") {
		t.Errorf("TRANSACTION.CLOSED: %+v, %v", r.notice, r.err)
	}
	e.sim.SendEvent(e.notifyURL(), "TRANSACTION.SUCCESS", map[string]any{"out_trade_no": "WXI0002", "trade_state": "NOTPAY",
		"mchid": e.values["mchid"], "appid": e.values["appid"], "amount": map[string]any{"total": 1}})
	r = e.next(t)
	if r.err != nil || r.notice.Kind != channel.NoticeIgnore {
		t.Errorf("TRANSACTION.SUCCESS with NOTPAY: %+v, %v", r.notice, r.err)
	}
	e.sim.SendEvent(e.notifyURL(), "TRANSACTION.SUCCESS", map[string]any{"out_trade_no": "WXI0003", "trade_state": "SUCCESS"})
	if r = e.next(t); !errors.Is(r.err, channel.ErrMalformed) {
		t.Errorf("SUCCESS without transaction_id or amount: %+v, %v; want ErrMalformed", r.notice, r.err)
	}
}

func TestRetriedUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	e.setDoor(e.p, func(n int) bool { return n <= 2 })
	e.pay(t, "WXA0001", channel.WayWxNative, 10)
	if err := e.sim.Pay("WXA0001"); err != nil {
		t.Fatal(err)
	}
	var first channel.Trade
	for i := 0; i < 3; i++ {
		r := e.next(t)
		if r.err != nil || r.notice.Kind != channel.NoticePaid {
			t.Fatalf("delivery %d: %+v, %v", i+1, r.notice, r.err)
		}
		if i == 0 {
			first = r.notice.Trade
		} else if r.notice.Trade != first {
			t.Errorf("delivery %d decoded %+v, first %+v", i+1, r.notice.Trade, first)
		}
	}
	d := e.deliveries(t, 3)
	if len(d) != 3 || d[0].Status != 500 || d[1].Status != 500 || d[2].Status != 204 {
		t.Errorf("deliveries = %+v, want 500, 500, 204", d)
	}
	ack := e.p.Ack(false, "数据库暂不可用")
	if ack.Status != 500 || ack.ContentType != "application/json" || string(ack.Body) != `{"code":"FAIL","message":"数据库暂不可用"}` {
		t.Errorf("negative ack = %d %s %s", ack.Status, ack.ContentType, ack.Body)
	}
	if ack := e.p.Ack(true, ""); ack.Status != 204 || len(ack.Body) != 0 {
		t.Errorf("positive ack = %+v", ack)
	}
}

func TestDuplicateAndReordered(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.SetSwitches(wxsim.Switches{DuplicateNotify: 2, RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	first := e.paid(t, "WXD0001", 300)
	for i := 0; i < 2; i++ {
		r := e.next(t)
		if r.err != nil || r.notice.Kind != channel.NoticePaid || r.notice.Trade != first.Trade {
			t.Errorf("duplicate %d: %+v, %v; want %+v", i+1, r.notice.Trade, r.err, first.Trade)
		}
	}

	if err := e.sim.SetSwitches(wxsim.Switches{Reorder: true, RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, no := range []string{"WXR0001", "WXR0002"} {
		e.pay(t, no, channel.WayWxNative, 1)
		if err := e.sim.Pay(no); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.SetSwitches(wxsim.Switches{RetryEvery: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	a, b := e.next(t), e.next(t)
	if a.err != nil || b.err != nil || a.notice.Trade.OrderNo != "WXR0002" || b.notice.Trade.OrderNo != "WXR0001" {
		t.Errorf("released %s then %s (%v, %v), want WXR0002 first", a.notice.Trade.OrderNo, b.notice.Trade.OrderNo, a.err, b.err)
	}
	for _, r := range []received{a, b} {
		q, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: r.notice.Trade.OrderNo})
		if err != nil || q.TradeNo != r.notice.Trade.TradeNo || q.AmountFen != r.notice.Trade.AmountFen || !q.PaidAt.Equal(r.notice.Trade.PaidAt) {
			t.Errorf("query %+v disagrees with the late notice %+v", q, r.notice.Trade)
		}
	}
}

func TestLostNotificationFoundByQuery(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.SetSwitches(wxsim.Switches{DropNotify: true}); err != nil {
		t.Fatal(err)
	}
	e.pay(t, "WXLOST001", channel.WayWxH5, 4200)
	if err := e.sim.Pay("WXLOST001"); err != nil {
		t.Fatal(err)
	}
	if d := e.sim.Deliveries(); len(d) != 0 {
		t.Fatalf("a dropped notification was delivered: %+v", d)
	}
	tr, err := e.p.Query(ctx, channel.TradeRef{AttemptNo: "WXLOST001"})
	if err != nil || tr.Status != channel.TradeSuccess || tr.AmountFen != 4200 || tr.TradeNo == "" {
		t.Errorf("query after a lost notification = %+v, %v", tr, err)
	}
}
