package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestSim(t *testing.T) (*Sim, *httptest.Server) {
	t.Helper()
	s, err := New("/sim/alipay", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		srv.Close()
	})
	return s, srv
}

// signedRequest is a gateway request signed with key as an app signs it.
func signedRequest(s *Sim, key *rsa.PrivateKey, method, biz string) url.Values {
	v := url.Values{
		"app_id": {s.appID}, "method": {method}, "format": {"JSON"}, "charset": {"utf-8"}, "sign_type": {"RSA2"},
		"timestamp": {time.Now().In(shanghai).Format(wireTime)}, "version": {"1.0"}, "biz_content": {biz},
	}
	sum := sha256.Sum256([]byte(signContent(v, "sign")))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v
}

func post(t *testing.T, u string, v url.Values) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The gateway refuses a request whose signature does not verify the way Alipay does:
// 40002 isv.invalid-signature, unsigned; a good one gets a signed answer.
func TestGatewayChecksRequestSignature(t *testing.T) {
	s, srv := newTestSim(t)
	gw := srv.URL + "/sim/alipay/gateway.do"
	biz := `{"out_trade_no":"A1"}`

	good := post(t, gw, signedRequest(s, s.appKey, "alipay.trade.query", biz))
	if _, signed := good["sign"]; !signed {
		t.Errorf("answer to a good request is not signed: %v", good)
	}
	inner := good["alipay_trade_query_response"]
	sig, _ := base64.StdEncoding.DecodeString(strings.Trim(string(good["sign"]), `"`))
	sum := sha256.Sum256(inner)
	if err := rsa.VerifyPKCS1v15(&s.aliKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("answer signature does not cover the inner bytes: %v", err)
	}
	if !strings.Contains(string(inner), "ACQ.TRADE_NOT_EXIST") {
		t.Errorf("query of an unknown trade = %s", inner)
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad := post(t, gw, signedRequest(s, other, "alipay.trade.query", biz))
	var e struct {
		Code    string `json:"code"`
		SubCode string `json:"sub_code"`
	}
	json.Unmarshal(bad["alipay_trade_query_response"], &e)
	if e.Code != "40002" || e.SubCode != "isv.invalid-signature" {
		t.Errorf("badly signed request answered %+v, want 40002 isv.invalid-signature", e)
	}
	if _, signed := bad["sign"]; signed {
		t.Error("refusal of a bad signature is signed")
	}

	tampered := signedRequest(s, s.appKey, "alipay.trade.query", biz)
	tampered.Set("biz_content", `{"out_trade_no":"A2"}`)
	json.Unmarshal(post(t, gw, tampered)["alipay_trade_query_response"], &e)
	if e.Code != "40002" {
		t.Errorf("tampered request answered %+v, want 40002", e)
	}
}

func TestSwitchesOverJSON(t *testing.T) {
	s, srv := newTestSim(t)
	u := srv.URL + "/sim/alipay/switches"
	resp, err := http.Post(u, "application/json", strings.NewReader(`{"drop_notify":true,"amount_delta_fen":5,"notify_delay_ms":1500}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST switches = %d", resp.StatusCode)
	}
	if sw := s.Switches(); !sw.DropNotify || sw.AmountDeltaFen != 5 || sw.NotifyDelay != 1500*time.Millisecond {
		t.Errorf("Switches() = %+v", sw)
	}
	for _, body := range []string{`{"duplicate_notify":11}`, `{"notify_delay_ms":-1}`, `{"no_such":true}`, `not json`} {
		resp, err := http.Post(u, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s = %d, want 400", body, resp.StatusCode)
		}
	}
	if sw := s.Switches(); !sw.DropNotify || sw.AmountDeltaFen != 5 {
		t.Errorf("a refused POST changed the switches: %+v", sw)
	}
}

func TestRotateEndpoint(t *testing.T) {
	s, srv := newTestSim(t)
	before := s.AlipayCertSN()
	resp, err := http.Post(srv.URL+"/sim/alipay/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if after := s.AlipayCertSN(); after == before || !strings.Contains(string(b), after) {
		t.Errorf("rotate answered %s; serial %s → %s", b, before, after)
	}
}

// The hosted page is Simplified Chinese and carries no script (the platform's CSP).
func TestHostedPageHasNoScript(t *testing.T) {
	s, srv := newTestSim(t)
	gw := srv.URL + "/sim/alipay/gateway.do"
	biz := `{"out_trade_no":"A1","total_amount":"0.01","subject":"测试","product_code":"FACE_TO_FACE_PAYMENT"}`
	out := post(t, gw, signedRequest(s, s.appKey, "alipay.trade.precreate", biz))
	var pre struct {
		QRCode string `json:"qr_code"`
	}
	json.Unmarshal(out["alipay_trade_precreate_response"], &pre)
	resp, err := http.Get(pre.QRCode)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if !strings.Contains(page, "确认支付") || !strings.Contains(page, "¥0.01") {
		t.Errorf("page lacks 确认支付 or the amount:\n%s", page)
	}
	for _, bad := range []string{"<script", "onclick", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}
