package wechatpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"campuspay/app/channel"
)

// fuzzRig is a provider in public-key mode and the WeChat-side keys to sign for it.
type fuzzRig struct {
	p      *provider
	wxKey  *rsa.PrivateKey
	apiv3  string
	pubKey string
}

func newFuzzRig(t testing.TB) *fuzzRig {
	merchant, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wx, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(merchant)
	pub, _ := x509.MarshalPKIXPublicKey(&wx.PublicKey)
	r := &fuzzRig{wxKey: wx, apiv3: "0123456789abcdef0123456789abcdef", pubKey: "PUB_KEY_ID_0114FUZZ"}
	c, err := parseConfig(map[string]string{
		FieldMchID: "1900000109", FieldAppID: "wx8888888888888888", FieldCertSerial: "5157F09EFDC096DE15EBE81A47057A72",
		FieldPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		FieldAPIv3Key:   r.apiv3, FieldVerifyMode: ModePublicKey, FieldPubKeyID: r.pubKey,
		FieldPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.p, err = newProvider(c, channel.MerchantConfig{}); err != nil {
		t.Fatal(err)
	}
	return r
}

// signed returns headers WeChat would send with body.
func (r *fuzzRig) signed(body []byte) http.Header {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := "FUZZNONCE0123456"
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, r.wxKey, crypto.SHA256, sum[:])
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", r.pubKey)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return h
}

// envelope encrypts plain as a notification of event.
func (r *fuzzRig) envelope(event string, plain []byte) []byte {
	block, _ := aes.NewCipher([]byte(r.apiv3))
	gcm, _ := cipher.NewGCM(block)
	nonce := "abcdef012345"
	body, _ := json.Marshal(map[string]any{"id": "EV-1", "create_time": "2026-12-04T10:00:00+08:00",
		"resource_type": "encrypt-resource", "event_type": event, "summary": "x",
		"resource": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "transaction",
			"ciphertext": base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte("transaction")))}})
	return body
}

// checkNotice fails on a notice that claims more than a valid message could say.
func checkNotice(t *testing.T, n channel.Notice) {
	switch n.Kind {
	case channel.NoticePaid:
		tr := n.Trade
		if tr.Status != channel.TradeSuccess || tr.OrderNo == "" || tr.TradeNo == "" || tr.AmountFen <= 0 || tr.PaidAt.IsZero() {
			t.Fatalf("accepted a paid notice without its essentials: %+v", tr)
		}
	case channel.NoticeRefund:
		rf := n.Refund
		switch rf.Status {
		case channel.RefundSucceeded, channel.RefundClosed, channel.RefundAbnormal:
		default:
			t.Fatalf("refund notice with status %q", rf.Status)
		}
		if rf.RefundNo == "" || rf.AmountFen <= 0 || n.Trade.OrderNo == "" {
			t.Fatalf("accepted a refund notice without its essentials: %+v", n)
		}
	case channel.NoticeIgnore:
	default:
		t.Fatalf("notice kind %d", n.Kind)
	}
}

func FuzzNotification(f *testing.F) {
	rig := newFuzzRig(f)
	f.Add("TRANSACTION.SUCCESS", []byte(`{"mchid":"1900000109","appid":"wx8888888888888888","out_trade_no":"A1000001","transaction_id":"4200000001","trade_type":"NATIVE","trade_state":"SUCCESS","success_time":"2026-12-04T10:00:00+08:00","amount":{"total":100,"payer_total":100,"currency":"CNY"}}`), []byte(nil))
	f.Add("TRANSACTION.SUCCESS", []byte(`{"out_trade_no":"A1000001","trade_state":"SUCCESS","amount":{"total":-5}}`), []byte(nil))
	f.Add("TRANSACTION.SUCCESS", []byte(`{"out_trade_no":"A1000001","trade_state":"NOTPAY"}`), []byte(nil))
	f.Add("REFUND.SUCCESS", []byte(`{"mchid":"1900000109","out_trade_no":"A1000001","transaction_id":"4200000001","out_refund_no":"R1","refund_id":"5030","refund_status":"SUCCESS","amount":{"total":100,"refund":40,"payer_total":100,"payer_refund":40}}`), []byte(nil))
	f.Add("REFUND.ABNORMAL", []byte(`{"out_trade_no":"A1000001","out_refund_no":"R1","refund_status":"ABNORMAL","amount":{"refund":40}}`), []byte(nil))
	f.Add("REFUND.CLOSED", []byte(`{"out_trade_no":"A1000001","out_refund_no":"R1","refund_status":"SUCCESS","amount":{"refund":40}}`), []byte(nil))
	f.Add("COUPON.USE", []byte(`{}`), []byte(nil))
	f.Add("TRANSACTION.SUCCESS", []byte(`not json`), []byte(nil))
	f.Add("", []byte(nil), []byte(`{"event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","nonce":"abcdef012345","associated_data":""}}`))
	f.Add("", []byte(nil), []byte(`{"event_type":"TRANSACTION.SUCCESS"}{}`))
	f.Add("", []byte(nil), []byte(`[]`))
	f.Fuzz(func(t *testing.T, event string, plain, raw []byte) {
		body := raw
		if len(raw) == 0 {
			body = rig.envelope(event, plain)
		}
		n, err := rig.p.Notification(t.Context(), rig.signed(body), body)
		if err != nil {
			return
		}
		checkNotice(t, n)
		if len(raw) != 0 && !json.Valid(raw) {
			t.Fatalf("accepted a body that is not JSON: %q", raw)
		}
		// Unsigned, the same body is refused.
		if _, err := rig.p.Notification(t.Context(), http.Header{}, body); err == nil {
			t.Fatal("accepted a notification without a signature")
		}
	})
}

func FuzzParseTradeBill(f *testing.F) {
	header := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	sumHeader := "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
	pay := "`2026-12-03 09:15:02,`wx8888888888888888,`1900000109,`,`,`4200000001,`A20261203001,`oUser,`NATIVE,`SUCCESS,`OTHERS,`CNY,`1234.50,`0.00,`0,`0,`0.00,`0.00,`,`,`学费,`,`7.41,`0.60%,`1234.50,`0.00,`"
	ref := "`2026-12-03 10:00:00,`wx8888888888888888,`1900000109,`,`,`4200000001,`A20261203001,`oUser,`NATIVE,`REFUND,`OTHERS,`CNY,`1234.50,`0.00,`5030001,`R1,`100.00,`0.00,`ORIGINAL,`SUCCESS,`学费,`,`-0.60,`0.60%,`1234.50,`100.00,`"
	good := header + "\r\n" + pay + "\r\n" + ref + "\r\n" + sumHeader + "\r\n`2,`1234.50,`100.00,`0.00,`6.81,`1234.50,`100.00\r\n"
	f.Add([]byte(good))
	f.Add([]byte("\uFEFF" + good))
	f.Add([]byte(strings.ReplaceAll(good, "\r\n", "\n")))
	f.Add([]byte(header + "\r\n" + sumHeader + "\r\n`0,`0.00,`0.00,`0.00,`0.00,`0.00,`0.00\r\n"))
	f.Add([]byte(strings.Replace(good, "`2,", "`1,", 1)))
	f.Add([]byte(strings.Replace(good, "`1234.50,`0.00,`0,", "`-1234.50,`0.00,`0,", 1)))
	f.Add([]byte(header + "\r\n" + pay + "\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseTradeBill(data)
		if err != nil {
			return
		}
		text := string(data)
		if !strings.Contains(text, "交易时间,公众账号ID,商户号,特约商户号") || !strings.Contains(text, "总交易单数,") {
			t.Fatalf("accepted a file without the bill's header and summary: %q", data)
		}
		for _, l := range lines {
			if l.AmountFen <= 0 || l.AttemptNo == "" || l.TradeNo == "" || l.At.IsZero() {
				t.Fatalf("accepted a line without its essentials: %+v", l)
			}
			switch l.Kind {
			case channel.StatementPayment:
			case channel.StatementRefund:
				if l.RefundNo == "" || l.ChannelRefundNo == "" {
					t.Fatalf("refund line without refund numbers: %+v", l)
				}
			default:
				t.Fatalf("line kind %q", l.Kind)
			}
		}
	})
}
