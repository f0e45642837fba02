package alipay_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
)

func TestDriverDescribesAlipay(t *testing.T) {
	d := alipay.Driver{}
	if d.Name() != "alipay" {
		t.Errorf("Name() = %q, want alipay", d.Name())
	}
	c := d.Capabilities()
	if c.Label != "支付宝" || c.Synchronous || c.NeedsPassword || !c.PartialRefund || c.Simulator {
		t.Errorf("Capabilities() = %+v", c)
	}
	if got := len(c.Ways); got != 3 {
		t.Errorf("Ways = %v, want ALI_QR, ALI_WAP, ALI_PC", c.Ways)
	}
	keys := map[string]bool{}
	for _, f := range d.Fields() {
		keys[f.Key] = true
		if f.Key == alipay.FieldPrivateKey && !f.Secret {
			t.Error("the app private key is not marked secret")
		}
	}
	for _, k := range []string{"app_id", "private_key", "alipay_public_key", "app_cert", "alipay_root_cert", "alipay_cert", "app_auth_token"} {
		if !keys[k] {
			t.Errorf("Fields() lacks %q", k)
		}
	}
}

// Each way creates the trade at Alipay with its own product code and the attempt's
// number, amount, subject, expiry and notification address; before the payer scans or
// opens the cashier a query says "waiting"; after 确认支付 it says paid.
func TestEveryWayCreatesAndPays(t *testing.T) {
	for _, tc := range []struct {
		way     channel.Way
		method  string
		product string
	}{
		{channel.WayAliQR, "alipay.trade.precreate", "FACE_TO_FACE_PAYMENT"},
		{channel.WayAliWAP, "alipay.trade.wap.pay", "QUICK_WAP_WAY"},
		{channel.WayAliPC, "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"},
	} {
		t.Run(string(tc.way), func(t *testing.T) {
			e := newEnv(t, false)
			no := "A" + strings.ReplaceAll(string(tc.way), "_", "")
			res := e.pay(no, tc.way, 1234)

			if tc.way == channel.WayAliQR {
				if res.QRContent == "" || res.RedirectURL != "" {
					t.Fatalf("PayResult = %+v, want a QR code only", res)
				}
			} else {
				if res.RedirectURL == "" || res.QRContent != "" {
					t.Fatalf("PayResult = %+v, want a redirect only", res)
				}
				u, _ := url.Parse(res.RedirectURL)
				if u.Query().Get("method") != tc.method || u.Query().Get("sign") == "" {
					t.Fatalf("redirect %s: method %q, want a signed %s", res.RedirectURL, u.Query().Get("method"), tc.method)
				}
			}
			// Before the scan (QR) or before the browser reaches Alipay (WAP, PC).
			if got := e.query(no); got.Status != channel.TradeWaiting {
				t.Errorf("Query before the payer arrives = %s, want waiting", got.Status)
			}
			page := e.hostedPage(res)
			call := e.lastCall(tc.method)
			want := map[string]string{"out_trade_no": no, "total_amount": "12.34", "subject": "2024 秋季学费", "product_code": tc.product}
			for k, v := range want {
				if got, _ := call.Biz[k].(string); got != v {
					t.Errorf("%s biz_content %s = %q, want %q", tc.method, k, got, v)
				}
			}
			if te, _ := call.Biz["time_expire"].(string); !strings.HasPrefix(te, "2024-09-01 12:00") {
				t.Errorf("time_expire = %q, want 2024-09-01 12:00…", te)
			}
			if call.NotifyURL != e.notifyURL() {
				t.Errorf("notify_url = %q, want %q", call.NotifyURL, e.notifyURL())
			}
			if body := get(t, page); !strings.Contains(body, "¥12.34") {
				t.Errorf("hosted page does not show ¥12.34:\n%s", body)
			}
			if got := e.query(no); got.Status != channel.TradeWaiting {
				t.Errorf("Query after the scan = %s, want waiting", got.Status)
			}

			e.scanAndPay(res)
			got := e.query(no)
			if got.Status != channel.TradeSuccess || got.AmountFen != 1234 || got.OrderNo != no || got.TradeNo == "" {
				t.Errorf("Query after payment = %+v, want paid 1234 fen", got)
			}
			if !got.PaidAt.Equal(e.clock.Now()) {
				t.Errorf("PaidAt = %v, want %v", got.PaidAt, e.clock.Now().UTC())
			}
			n := e.notice(e.next())
			if n.Kind != channel.NoticePaid || n.Trade.TradeNo != got.TradeNo {
				t.Errorf("notification = %+v, want paid %s", n, got.TradeNo)
			}
		})
	}
}

func TestPayRefusesWhatAlipayWould(t *testing.T) {
	e := newEnv(t, false)
	base := channel.PayRequest{AttemptNo: "A1", Way: channel.WayAliQR, AmountFen: 100, Subject: "学费", NotifyURL: e.notifyURL()}
	for name, mutate := range map[string]func(*channel.PayRequest){
		"zero amount":     func(r *channel.PayRequest) { r.AmountFen = 0 },
		"long number":     func(r *channel.PayRequest) { r.AttemptNo = strings.Repeat("9", 33) },
		"no notify url":   func(r *channel.PayRequest) { r.NotifyURL = "" },
		"expired":         func(r *channel.PayRequest) { r.ExpiresAt = e.clock.Now().Add(-time.Minute) },
		"another's way":   func(r *channel.PayRequest) { r.Way = channel.WayWxNative },
		"relative notify": func(r *channel.PayRequest) { r.NotifyURL = "/notify/alipay/1" },
	} {
		req := base
		mutate(&req)
		if _, err := e.p.Pay(context.Background(), req); err == nil {
			t.Errorf("%s: Pay succeeded", name)
		}
	}
	if n := len(e.sim.Calls()); n != 0 {
		t.Errorf("%d calls reached Alipay for refused requests", n)
	}
}

// Paying the same attempt again for another amount is refused by Alipay.
func TestPaySameAttemptOtherAmountRefused(t *testing.T) {
	e := newEnv(t, false)
	e.pay("A1", channel.WayAliQR, 100)
	_, err := e.p.Pay(context.Background(), channel.PayRequest{AttemptNo: "A1", Way: channel.WayAliQR, AmountFen: 200, Subject: "2024 秋季学费", NotifyURL: e.notifyURL()})
	if err == nil || !strings.Contains(err.Error(), "ACQ.CONTEXT_INCONSISTENT") {
		t.Errorf("Pay again with another amount: %v, want ACQ.CONTEXT_INCONSISTENT", err)
	}
}

// A lost notification: the query still finds the payment.
func TestLostNotificationFoundByQuery(t *testing.T) {
	e := newEnv(t, false)
	sw := e.sim.Switches()
	sw.DropNotify = true
	e.sim.SetSwitches(sw)
	res := e.pay("A1", channel.WayAliWAP, 500)
	e.scanAndPay(res)
	if got := e.query("A1"); got.Status != channel.TradeSuccess || got.AmountFen != 500 {
		t.Errorf("Query = %+v, want paid 500", got)
	}
	e.noneAfterClose()
}

func TestClose(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()

	// An unscanned QR code: Alipay does not know it; closing it is done, and the code can
	// no longer be paid.
	qr := e.pay("Q1", channel.WayAliQR, 100)
	if err := e.p.Close(ctx, channel.TradeRef{AttemptNo: "Q1"}); err != nil {
		t.Fatalf("Close unscanned QR: %v", err)
	}
	if body := get(t, qr.QRContent); strings.Contains(body, "确认支付") || !strings.Contains(body, "交易已关闭") {
		t.Errorf("hosted page after close still offers payment:\n%s", body)
	}

	// A waiting phone trade: closed, and the query says so; closing again is fine.
	wap := e.pay("W1", channel.WayAliWAP, 100)
	e.hostedPage(wap)
	for i := 0; i < 2; i++ {
		if err := e.p.Close(ctx, channel.TradeRef{AttemptNo: "W1"}); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if got := e.query("W1"); got.Status != channel.TradeClosed {
		t.Errorf("Query after close = %s, want closed", got.Status)
	}

	// A paid trade cannot be closed.
	pc := e.pay("P1", channel.WayAliPC, 100)
	e.scanAndPay(pc)
	if err := e.p.Close(ctx, channel.TradeRef{AttemptNo: "P1"}); !errors.Is(err, alipay.ErrPaid) {
		t.Errorf("Close paid = %v, want ErrPaid", err)
	}
}

// A sub-merchant's app_auth_token goes with every call.
func TestAppAuthTokenOnEveryCall(t *testing.T) {
	e := newEnv(t, false)
	v := e.values(false)
	v[alipay.FieldAppAuthToken] = e.sim.AppAuthToken()
	e.p = e.open(v)
	ctx := context.Background()
	res := e.pay("A1", channel.WayAliQR, 1000)
	e.query("A1")
	e.scanAndPay(res)
	// A notification for a sub-merchant names the app it was paid to. Read it before the
	// refund: the refund's own notification may otherwise overtake it on a busy machine.
	if n := e.notice(e.next()); n.Kind != channel.NoticePaid {
		t.Errorf("notification kind %v, want paid", n.Kind)
	}
	if _, err := e.p.Refund(ctx, channel.RefundCall{Trade: channel.TradeRef{AttemptNo: "A1"}, RefundNo: "R1", AmountFen: 100, TotalFen: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.QueryRefund(ctx, channel.RefundCall{Trade: channel.TradeRef{AttemptNo: "A1"}, RefundNo: "R1"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.clock.Now().Add(26 * time.Hour))
	if _, err := e.p.Statement(ctx, time.Date(2024, 9, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Calls()
	if len(calls) < 5 {
		t.Fatalf("%d calls, want at least 5", len(calls))
	}
	for _, c := range calls {
		if c.AppAuthToken != e.sim.AppAuthToken() {
			t.Errorf("%s carried app_auth_token %q", c.Method, c.AppAuthToken)
		}
	}
}
