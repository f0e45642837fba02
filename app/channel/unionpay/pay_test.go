package unionpay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/unionpay"
)

func TestPayEachWayPostsTheConsumeForm(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		way         channel.Way
		channelType string
	}{{channel.WayUpPC, "07"}, {channel.WayUpWAP, "08"}} {
		t.Run(string(tc.way), func(t *testing.T) {
			req := e.payReq("A2026030400"+tc.channelType, tc.way, 12345)
			res, err := e.prov.Pay(context.Background(), req)
			if err != nil {
				t.Fatalf("Pay: %v", err)
			}
			if want := e.srv.URL + "/sim/unionpay/gateway/api/frontTransReq.do"; res.Form == nil || res.Form.Action != want {
				t.Fatalf("Form = %+v, want action %s", res.Form, want)
			}
			f := res.Form.Fields
			want := map[string]string{
				"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01",
				"txnType": "01", "txnSubType": "01", "bizType": "000201", "channelType": tc.channelType,
				"accessType": "0", "currencyCode": "156", "merId": e.sim.MerID(), "orderId": req.AttemptNo,
				"txnAmt": "12345", "txnTime": "20260304100000", "payTimeout": "20260304103000",
				"frontUrl": req.ReturnURL, "backUrl": req.NotifyURL, "customerIp": "10.1.2.3",
			}
			for k, v := range want {
				if f[k] != v {
					t.Errorf("field %s = %q, want %q", k, f[k], v)
				}
			}
			if f["certId"] == "" || f["signature"] == "" {
				t.Errorf("certId %q, signature %q: want both", f["certId"], f["signature"])
			}
			// The fake checks the signature and shows the amount on its pay page.
			page := e.postForm(res.Form.Action, f)
			if !strings.Contains(page, "¥123.45") || !strings.Contains(page, "确认支付") {
				t.Errorf("pay page does not offer ¥123.45:\n%s", page)
			}
		})
	}
}

func TestPayFormTamperedIsRefusedByTheGateway(t *testing.T) {
	e := newEnv(t)
	res, err := e.prov.Pay(context.Background(), e.payReq("A20260304TAMP", channel.WayUpPC, 100))
	if err != nil {
		t.Fatal(err)
	}
	res.Form.Fields["txnAmt"] = "1"
	page := e.postForm(res.Form.Action, res.Form.Fields)
	if !strings.Contains(page, "验证签名失败（11）") || strings.Contains(page, "确认支付") {
		t.Errorf("tampered form page:\n%s", page)
	}
}

func TestPayRefusesWhatUnionPayWouldNot(t *testing.T) {
	e := newEnv(t)
	for name, mutate := range map[string]func(*channel.PayRequest){
		"other way":     func(r *channel.PayRequest) { r.Way = channel.WayAliQR },
		"short orderId": func(r *channel.PayRequest) { r.AttemptNo = "A1" },
		"dash":          func(r *channel.PayRequest) { r.AttemptNo = "A2026-0304-01" },
		"zero amount":   func(r *channel.PayRequest) { r.AmountFen = 0 },
		"expired":       func(r *channel.PayRequest) { r.ExpiresAt = r.CreatedAt },
		"relative URL":  func(r *channel.PayRequest) { r.NotifyURL = "/notify/unionpay/1" },
	} {
		req := e.payReq("A20260304BAD", channel.WayUpPC, 100)
		mutate(&req)
		if _, err := e.prov.Pay(context.Background(), req); err == nil {
			t.Errorf("%s: Pay accepted %+v", name, req)
		}
	}
}

func TestQueryBeforeAndAfterPayment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.payReq("A20260304Q001", channel.WayUpWAP, 880)
	res, err := e.prov.Pay(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := e.prov.Query(ctx, e.ref(req))
	if err != nil || tr.Status != channel.TradeNotFound {
		t.Fatalf("before the form is posted: Query = %+v, %v; want not_found", tr, err)
	}
	token := e.openPage(res)
	if tr, err = e.prov.Query(ctx, e.ref(req)); err != nil || tr.Status != channel.TradeWaiting {
		t.Fatalf("on the pay page: Query = %+v, %v; want waiting", tr, err)
	}
	e.clock.Set(bj(2026, 3, 4, 10, 5))
	e.confirm(token)
	if tr, err = e.prov.Query(ctx, e.ref(req)); err != nil {
		t.Fatal(err)
	}
	if tr.Status != channel.TradeSuccess || tr.AmountFen != 880 || tr.OrderNo != req.AttemptNo ||
		tr.MerchantNo != e.sim.MerID() || tr.TradeNo == "" || !tr.PaidAt.Equal(bj(2026, 3, 4, 10, 5)) {
		t.Errorf("after payment: Query = %+v", tr)
	}
	// The notification says the same.
	n := e.decode(e.next())
	if n.Kind != channel.NoticePaid || n.Trade.TradeNo != tr.TradeNo || n.Trade.AmountFen != 880 ||
		!n.Trade.PaidAt.Equal(tr.PaidAt) || n.Trade.MerchantNo != tr.MerchantNo {
		t.Errorf("notice = %+v, query = %+v", n.Trade, tr)
	}
}

func TestCloseLeavesTheAttemptToExpire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.payReq("A20260304C001", channel.WayUpPC, 500)
	res, err := e.prov.Pay(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	token := e.openPage(res)
	if err := e.prov.Close(ctx, e.ref(req)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.clock.Set(req.ExpiresAt.Add(time.Second))
	if page := e.confirm(token); !strings.Contains(page, "订单已超时") {
		t.Errorf("paying after payTimeout:\n%s", page)
	}
	tr, err := e.prov.Query(ctx, e.ref(req))
	if err != nil || tr.Status != channel.TradeClosed {
		t.Errorf("Query after expiry = %+v, %v; want closed", tr, err)
	}
}

func TestLostNotificationIsFoundByQuery(t *testing.T) {
	e := newEnv(t)
	sw := e.sim.Switches()
	sw.DropNotify = true
	e.sim.SetSwitches(sw)
	req := e.paid("A20260304LOST", 2000)
	tr, err := e.prov.Query(context.Background(), e.ref(req))
	if err != nil || tr.Status != channel.TradeSuccess || tr.AmountFen != 2000 {
		t.Errorf("Query = %+v, %v", tr, err)
	}
}

func TestUnreachableOrGarbageIsUnavailable(t *testing.T) {
	e := newEnv(t)
	req := e.payReq("A20260304DOWN", channel.WayUpPC, 100)
	ref := e.ref(req)

	for name, h := range map[string]func(w http.ResponseWriter, r *http.Request){
		"html": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
		},
		"500": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
		"huge": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "respCode=00&x="+strings.Repeat("a", 1<<20))
		},
		"nosign": func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "respCode=00&orderId=A20260304DOWN") },
	} {
		t.Run(name, func(t *testing.T) {
			bad := httptest.NewServer(http.HandlerFunc(h))
			defer bad.Close()
			v := copyValues(e.values)
			v[unionpay.FieldGatewayURL] = bad.URL
			_, err := e.open(v).Query(context.Background(), ref)
			wantErr(t, err, channel.ErrUnavailable)
		})
	}
	t.Run("closed", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		v := copyValues(e.values)
		v[unionpay.FieldGatewayURL] = gone.URL
		gone.Close()
		_, err := e.open(v).Query(context.Background(), ref)
		wantErr(t, err, channel.ErrUnavailable)
		if !strings.Contains(err.Error(), "银联网关无法连接") {
			t.Errorf("message %q does not tell finance the gateway is unreachable", err)
		}
	})
}

func copyValues(v map[string]string) map[string]string {
	out := map[string]string{}
	for k, x := range v {
		out[k] = x
	}
	return out
}
