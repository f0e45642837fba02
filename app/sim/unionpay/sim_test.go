package unionpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func newTestSim(t *testing.T) (*Sim, *httptest.Server) {
	t.Helper()
	s, err := New("/sim/unionpay", func() time.Time { return time.Date(2026, 3, 4, 10, 0, 0, 0, beijing) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return s, srv
}

// signedQuery is a query request signed with the merchant PKCS#12 the fake handed out.
func signedQuery(t *testing.T, s *Sim, orderID string) url.Values {
	t.Helper()
	v := s.MerchantValues("http://x")
	pfx, _ := base64.StdEncoding.DecodeString(v["sign_cert_pfx"])
	key, cert, err := pkcs12.Decode(pfx, v["sign_cert_password"])
	if err != nil {
		t.Fatalf("the merchant PKCS#12 does not open with its password: %v", err)
	}
	f := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "certId": cert.SerialNumber.String(),
		"txnType": "00", "txnSubType": "00", "bizType": "000201", "accessType": "0", "merId": s.MerID(),
		"orderId": orderID, "txnTime": "20260304100000"}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest(f))
	if err != nil {
		t.Fatal(err)
	}
	f["signature"] = base64.StdEncoding.EncodeToString(sig)
	out := url.Values{}
	for k, x := range f {
		out.Set(k, x)
	}
	return out
}

func post(t *testing.T, addr string, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(addr, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestQueryAnswersAreSignedWithTheAttachedLeaf(t *testing.T) {
	s, srv := newTestSim(t)
	body := post(t, srv.URL+"/sim/unionpay/gateway/api/queryTrans.do", signedQuery(t, s, "A20260304X001"))
	f := map[string]string{}
	// signPubKeyCert holds newlines but no '&'; the answer is not URL-encoded.
	for _, kv := range strings.Split(body, "&") {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	if f["respCode"] != "34" {
		t.Fatalf("respCode = %q, want 34 for an unknown order: %s", f["respCode"], body)
	}
	b, _ := pem.Decode([]byte(f["signPubKeyCert"]))
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil || leaf.SerialNumber.String() != s.LeafSerial() || !strings.Contains(leaf.Subject.CommonName, "@中国银联股份有限公司@") {
		t.Fatalf("signPubKeyCert: %v %v", leaf, err)
	}
	sig, _ := base64.StdEncoding.DecodeString(f["signature"])
	if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest(f), sig); err != nil {
		t.Errorf("answer signature: %v", err)
	}
}

func TestBadPlatformSignatureIsAnswered11(t *testing.T) {
	s, srv := newTestSim(t)
	form := signedQuery(t, s, "A20260304X002")
	form.Set("orderId", "A20260304X003")
	body := post(t, srv.URL+"/sim/unionpay/gateway/api/queryTrans.do", form)
	if !strings.Contains(body, "respCode=11") || !strings.Contains(body, "respMsg=验证签名失败") || strings.Contains(body, "signature=") {
		t.Errorf("answer = %q; want an unsigned respCode 11", body)
	}
}

func TestSwitchesOverHTTP(t *testing.T) {
	s, srv := newTestSim(t)
	resp, err := http.Post(srv.URL+"/sim/unionpay/switches", "application/json",
		strings.NewReader(`{"drop_notify":true,"amount_delta_fen":2,"other_mer_id":"898000000000001","notify_delay_ms":50}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := Switches{DropNotify: true, AmountDeltaFen: 2, OtherMerID: "898000000000001", NotifyDelay: 50 * time.Millisecond}
	if got := s.Switches(); got != want {
		t.Errorf("Switches = %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"drop_notify":`, `{"nonsense":1}`, `{"duplicate_notify":99}`, `{"tamper_statement":"x"}`} {
		resp, err := http.Post(srv.URL+"/sim/unionpay/switches", "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
	var got switchesJSON
	resp, _ = http.Get(srv.URL + "/sim/unionpay/switches")
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if !got.DropNotify || got.AmountDeltaFen != 2 {
		t.Errorf("GET switches = %+v", got)
	}
}

func TestRotateOverHTTP(t *testing.T) {
	s, srv := newTestSim(t)
	before := s.LeafSerial()
	body := post(t, srv.URL+"/sim/unionpay/rotate", nil)
	if s.LeafSerial() == before || !strings.Contains(body, s.LeafSerial()) {
		t.Errorf("rotate answered %q; serial %s → %s", body, before, s.LeafSerial())
	}
}

func TestPayPageIsChineseAndScriptFree(t *testing.T) {
	s, srv := newTestSim(t)
	_ = s
	resp, err := http.PostForm(srv.URL+"/sim/unionpay/gateway/api/frontTransReq.do", url.Values{"version": {"5.1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if !strings.Contains(page, `lang="zh-CN"`) || !strings.Contains(page, "交易失败") || strings.Contains(page, "<script") {
		t.Errorf("page:\n%s", page)
	}
}
