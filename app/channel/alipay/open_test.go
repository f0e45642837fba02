package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
	alipaysim "campuspay/app/sim/alipay"
)

func rsaPEM(t *testing.T, bits int) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), k
}

// Bad merchant settings: Open fails naming the field at fault, in Chinese.
func TestOpenNamesTheFieldAtFault(t *testing.T) {
	e := newEnv(t, false)
	other, err := alipaysim.New("/sim/alipay", e.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherCert := other.CertMerchantValues(e.gateway())
	weak, _ := rsaPEM(t, 1024)
	appPub := func(v map[string]string) string {
		block, _ := pem.Decode([]byte(v["private_key"]))
		k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
		der, _ := x509.MarshalPKIXPublicKey(&k.(*rsa.PrivateKey).PublicKey)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}

	for _, tc := range []struct {
		name  string
		cert  bool
		edit  func(v map[string]string)
		now   time.Time
		field string
		words string
	}{
		{"no app id", false, func(v map[string]string) { delete(v, "app_id") }, time.Time{}, "app_id", "APPID"},
		{"app id not digits", false, func(v map[string]string) { v["app_id"] = "my-app" }, time.Time{}, "app_id", "数字"},
		{"seller id", false, func(v map[string]string) { v["seller_id"] = "12345" }, time.Time{}, "seller_id", "2088"},
		{"no private key", false, func(v map[string]string) { v["private_key"] = "" }, time.Time{}, "private_key", "请填写"},
		{"private key garbage", false, func(v map[string]string) { v["private_key"] = "not a key" }, time.Time{}, "private_key", "无法解析"},
		{"private key 1024 bits", false, func(v map[string]string) { v["private_key"] = weak }, time.Time{}, "private_key", "2048"},
		{"no Alipay key at all", false, func(v map[string]string) { delete(v, "alipay_public_key") }, time.Time{}, "alipay_public_key", "公钥模式"},
		{"app public key pasted as Alipay's", false, func(v map[string]string) { v["alipay_public_key"] = appPub(v) }, time.Time{}, "alipay_public_key", "应用公钥"},
		{"Alipay public key garbage", false, func(v map[string]string) {
			v["alipay_public_key"] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
		}, time.Time{}, "alipay_public_key", "无法解析"},
		{"both modes", true, func(v map[string]string) { v["alipay_public_key"] = "x" }, time.Time{}, "alipay_public_key", "只能选一种"},
		{"a certificate missing", true, func(v map[string]string) { delete(v, "alipay_cert") }, time.Time{}, "alipay_cert", "三张证书"},
		{"root garbage", true, func(v map[string]string) {
			v["alipay_root_cert"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, time.Time{}, "alipay_root_cert", "无法解析"},
		{"app certificate of another key", true, func(v map[string]string) { v["app_cert"] = otherCert["app_cert"] }, time.Time{}, "app_cert", "不匹配"},
		{"Alipay certificate under another root", true, func(v map[string]string) { v["alipay_cert"] = otherCert["alipay_cert"] }, time.Time{}, "alipay_cert", "根证书"},
		{"app certificate expired", true, nil, time.Date(2031, 1, 1, 0, 0, 0, 0, shanghai), "app_cert", "过期"},
		{"plain http gateway", false, func(v map[string]string) { v["gateway"] = "http://openapi.alipay.com/gateway.do" }, time.Time{}, "gateway", "https"},
		{"gateway with a query", false, func(v map[string]string) { v["gateway"] = "https://openapi.alipay.com/gateway.do?x=1" }, time.Time{}, "gateway", "网关"},
		{"token with spaces", false, func(v map[string]string) { v["app_auth_token"] = "a b" }, time.Time{}, "app_auth_token", "app_auth_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := e.values(tc.cert)
			if tc.edit != nil {
				tc.edit(v)
			}
			now := e.clock.Now
			if !tc.now.IsZero() {
				now = func() time.Time { return tc.now }
			}
			p, err := alipay.Driver{}.Open(channel.MerchantConfig{Values: v, Now: now})
			var fe *alipay.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Open = %v, %v, want a FieldError on %s", p, err, tc.field)
			}
			if p != nil {
				t.Error("Open returned a provider with its error")
			}
			if !strings.Contains(fe.Message, tc.words) {
				t.Errorf("message %q does not say %q", fe.Message, tc.words)
			}
		})
	}
}

// The key as Alipay's key tool writes it: one line of base64, no PEM armour.
func TestOpenAcceptsBareBase64Keys(t *testing.T) {
	e := newEnv(t, false)
	v := e.values(false)
	for _, k := range []string{"private_key", "alipay_public_key"} {
		block, _ := pem.Decode([]byte(v[k]))
		v[k] = base64.StdEncoding.EncodeToString(block.Bytes)
	}
	e.p = e.open(v)
	if got := e.query("NONE1"); got.Status != channel.TradeWaiting {
		t.Errorf("Query = %+v", got)
	}
}

// Alipay unreachable, answering garbage, refusing our signature or answering too much:
// an error wrapping ErrUnavailable that tells finance what to look at.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	req := func(e *env) channel.PayRequest {
		return channel.PayRequest{AttemptNo: "A1", Way: channel.WayAliQR, AmountFen: 100, Subject: "学费", NotifyURL: e.notifyURL()}
	}
	t.Run("unreachable", func(t *testing.T) {
		e := newEnv(t, false)
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		v := e.values(false)
		v["gateway"] = dead.URL + "/gateway.do"
		_, err := e.open(v).Pay(ctx, req(e))
		if !errors.Is(err, channel.ErrUnavailable) || !strings.Contains(err.Error(), dead.URL) {
			t.Errorf("Pay = %v, want unavailable naming %s", err, dead.URL)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		e := newEnv(t, false)
		sw := e.sim.Switches()
		sw.Garbage = true
		e.sim.SetSwitches(sw)
		_, err := e.p.Pay(ctx, req(e))
		if !errors.Is(err, channel.ErrUnavailable) || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("Pay = %v, want unavailable: not JSON", err)
		}
	})
	t.Run("our signature refused", func(t *testing.T) {
		e := newEnv(t, false)
		v := e.values(false)
		v["private_key"], _ = rsaPEM(t, 2048)
		_, err := e.open(v).Pay(ctx, req(e))
		if !errors.Is(err, channel.ErrUnavailable) || !strings.Contains(err.Error(), "isv.invalid-signature") || !strings.Contains(err.Error(), "private key") {
			t.Errorf("Pay = %v, want unavailable naming the app private key", err)
		}
	})
	t.Run("answer too large", func(t *testing.T) {
		e := newEnv(t, false)
		big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"alipay_trade_precreate_response":{"code":"10000","qr_code":"`))
			w.Write([]byte(strings.Repeat("x", 2<<20)))
			w.Write([]byte(`"},"sign":"x"}`))
		}))
		defer big.Close()
		v := e.values(false)
		v["gateway"] = big.URL + "/gateway.do"
		_, err := e.open(v).Pay(ctx, req(e))
		if !errors.Is(err, channel.ErrUnavailable) {
			t.Errorf("Pay = %v, want unavailable", err)
		}
	})
	t.Run("answer signed by someone else", func(t *testing.T) {
		e := newEnv(t, false)
		other, err := alipaysim.New("/sim/alipay", e.clock.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		v := e.values(false)
		v["alipay_public_key"] = other.MerchantValues("")["alipay_public_key"]
		_, err = e.open(v).Pay(ctx, req(e))
		if !errors.Is(err, channel.ErrUnavailable) || !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("Pay = %v, want unavailable, bad signature", err)
		}
	})
}
