package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
)

func TestNotificationPaid(t *testing.T) {
	for _, cert := range []bool{false, true} {
		name := "public key"
		if cert {
			name = "certificates"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cert)
			e.scanAndPay(e.pay("A1", channel.WayAliQR, 8800))
			body := e.next()
			n := e.notice(body)
			tr := n.Trade
			if n.Kind != channel.NoticePaid || tr.Status != channel.TradeSuccess {
				t.Fatalf("Notice = %+v, want paid", n)
			}
			if tr.OrderNo != "A1" || tr.AmountFen != 8800 || tr.TradeNo == "" {
				t.Errorf("Trade = %+v, want A1 for 8800 fen", tr)
			}
			if tr.AppID != e.sim.AppID() || tr.MerchantNo != e.sim.SellerID() {
				t.Errorf("AppID, MerchantNo = %s, %s, want %s, %s", tr.AppID, tr.MerchantNo, e.sim.AppID(), e.sim.SellerID())
			}
			if !tr.PaidAt.Equal(e.clock.Now()) {
				t.Errorf("PaidAt = %v, want %v", tr.PaidAt, e.clock.Now())
			}
			if n.Raw != string(body) || tr.Raw != string(body) {
				t.Error("the notification is not kept as received")
			}
		})
	}
}

func TestAck(t *testing.T) {
	e := newEnv(t, false)
	if a := e.p.Ack(true, ""); string(a.Body) != "success" || a.Status != http.StatusOK {
		t.Errorf("Ack(true) = %d %q, want 200 success", a.Status, a.Body)
	}
	if a := e.p.Ack(false, "amount differs"); string(a.Body) != "fail" {
		t.Errorf("Ack(false) = %q, want fail", a.Body)
	}
}

// Alipay sends a notification again until it hears exactly "success".
func TestNotificationRetriedUntilSuccess(t *testing.T) {
	e := newEnv(t, false)
	e.failNext(2)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 100))
	first, second, third := e.next(), e.next(), e.next()
	for i, b := range [][]byte{first, second, third} {
		if n := e.notice(b); n.Kind != channel.NoticePaid || n.Trade.OrderNo != "A1" {
			t.Errorf("delivery %d = %+v", i+1, n)
		}
	}
	e.noneAfterClose()
}

func TestNotificationRefused(t *testing.T) {
	e := newEnv(t, false)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 100))
	good := string(e.next())
	ctx := context.Background()

	tampered := strings.Replace(good, "total_amount=1.00", "total_amount=0.01", 1)
	if tampered == good {
		t.Fatalf("notification has no total_amount=1.00: %s", good)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&otherKey.PublicKey)
	wrongKey := e.values(false)
	wrongKey[alipay.FieldAlipayPublicKey] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	for _, tc := range []struct {
		name string
		p    channel.Provider
		body string
		want error
	}{
		{"tampered amount", e.p, tampered, channel.ErrBadSignature},
		{"signature removed", e.p, removeField(good, "sign"), channel.ErrMalformed},
		{"sign_type RSA", e.p, strings.Replace(good, "sign_type=RSA2", "sign_type=RSA", 1), channel.ErrBadSignature},
		{"field doubled", e.p, good + "&total_amount=1.00", channel.ErrMalformed},
		{"not a form", e.p, "%zz", channel.ErrMalformed},
		{"unknown certificate in public-key mode", e.p, good + "&alipay_cert_sn=abc", channel.ErrBadSignature},
		{"verified with another Alipay key", e.open(wrongKey), good, channel.ErrBadSignature},
		{"too large", e.p, good + "&body=" + strings.Repeat("x", 70<<10), channel.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.p.Notification(ctx, nil, []byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Errorf("Notification = %+v, %v, want %v", n, err, tc.want)
			}
		})
	}
}

func removeField(form, key string) string {
	parts := strings.Split(form, "&")
	out := parts[:0]
	for _, p := range parts {
		if !strings.HasPrefix(p, key+"=") {
			out = append(out, p)
		}
	}
	return strings.Join(out, "&")
}

// A notification signed by Alipay but naming another app, seller or amount is decoded as
// it says: the core, holding the rows, refuses it.
func TestSignedLiesReportedTruthfully(t *testing.T) {
	e := newEnv(t, false)
	sw := e.sim.Switches()
	sw.AmountDeltaFen = 1
	sw.OtherSellerID = true
	sw.OtherAppID = true
	e.sim.SetSwitches(sw)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 100))
	n := e.notice(e.next())
	if n.Kind != channel.NoticePaid {
		t.Fatalf("Kind = %v", n.Kind)
	}
	if n.Trade.AmountFen != 101 {
		t.Errorf("AmountFen = %d, want the 101 the message claims", n.Trade.AmountFen)
	}
	if n.Trade.AppID == e.sim.AppID() || n.Trade.AppID == "" {
		t.Errorf("AppID = %q, want the other app the message names", n.Trade.AppID)
	}
	if n.Trade.MerchantNo == e.sim.SellerID() || n.Trade.MerchantNo == "" {
		t.Errorf("MerchantNo = %q, want the other seller the message names", n.Trade.MerchantNo)
	}
	if q := e.query("A1"); q.AmountFen != 101 {
		t.Errorf("Query AmountFen = %d, want the 101 the answer claims", q.AmountFen)
	}
}

func TestDuplicateNotificationsDecodeAlike(t *testing.T) {
	e := newEnv(t, false)
	sw := e.sim.Switches()
	sw.DuplicateNotify = 2
	e.sim.SetSwitches(sw)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 300))
	var first channel.Trade
	for i := 0; i < 3; i++ {
		tr := e.notice(e.next()).Trade
		tr.Raw = ""
		if i == 0 {
			first = tr
		} else if tr != first {
			t.Errorf("copy %d = %+v, want %+v", i+1, tr, first)
		}
	}
}

// TRADE_FINISHED arriving before TRADE_SUCCESS: both mean the same payment.
func TestReorderedNotificationsDecodeAlike(t *testing.T) {
	e := newEnv(t, false)
	sw := e.sim.Switches()
	sw.ReorderNotify = true
	e.sim.SetSwitches(sw)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 300))
	if err := e.sim.Finish("A1"); err != nil {
		t.Fatal(err)
	}
	sw.ReorderNotify = false
	e.sim.SetSwitches(sw)
	a, b := e.next(), e.next()
	if s := form(t, a).Get("trade_status"); s != "TRADE_FINISHED" {
		t.Fatalf("first notification is %s, want TRADE_FINISHED", s)
	}
	na, nb := e.notice(a), e.notice(b)
	if na.Kind != channel.NoticePaid || nb.Kind != channel.NoticePaid {
		t.Fatalf("kinds %v, %v, want both paid", na.Kind, nb.Kind)
	}
	if na.Trade.TradeNo != nb.Trade.TradeNo || na.Trade.AmountFen != nb.Trade.AmountFen || !na.Trade.PaidAt.Equal(nb.Trade.PaidAt) {
		t.Errorf("FINISHED %+v and SUCCESS %+v disagree", na.Trade, nb.Trade)
	}
}

func TestNonSuccessNotificationsIgnored(t *testing.T) {
	e := newEnv(t, false)
	res := e.pay("W1", channel.WayAliWAP, 100)
	e.hostedPage(res)
	if err := e.sim.Renotify("W1"); err != nil {
		t.Fatal(err)
	}
	if n := e.notice(e.next()); n.Kind != channel.NoticeIgnore || n.Reason == "" || n.Trade.Status != channel.TradeWaiting {
		t.Errorf("WAIT_BUYER_PAY → %+v, want ignore", n)
	}
	if err := e.p.Close(context.Background(), channel.TradeRef{AttemptNo: "W1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Renotify("W1"); err != nil {
		t.Fatal(err)
	}
	if n := e.notice(e.next()); n.Kind != channel.NoticeIgnore || n.Trade.Status != channel.TradeClosed {
		t.Errorf("TRADE_CLOSED → %+v, want ignore", n)
	}
}
