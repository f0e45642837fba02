package wechatpay_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	wxsim "campuspay/app/sim/wechatpay"
)

const base = "/sim/wechatpay"

type rig struct {
	sim *wxsim.Sim
	srv *httptest.Server
	key *rsa.PrivateKey
	v   map[string]string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s := wxsim.New(base, nil, nil)
	mux := http.NewServeMux()
	mux.Handle(base+"/", s)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { s.Close(); srv.Close() })
	v := s.MerchantValues()
	block, _ := pem.Decode([]byte(v["private_key"]))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{sim: s, srv: srv, key: k.(*rsa.PrivateKey), v: v}
}

// do sends a request signed as a merchant signs it; skew moves its timestamp.
func (r *rig) do(t *testing.T, method, uri, body string, key *rsa.PrivateKey, skew time.Duration) *http.Response {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Add(skew).Unix(), 10)
	nonce := "N0NCE123"
	sum := sha256.Sum256([]byte(method + "\n" + uri + "\n" + ts + "\n" + nonce + "\n" + body + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	req, _ := http.NewRequest(method, r.srv.URL+base+uri, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		r.v["mchid"], nonce, ts, r.v["cert_serial"], base64.StdEncoding.EncodeToString(sig)))
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthorizationChecked(t *testing.T) {
	r := newRig(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	uri := "/v3/pay/transactions/out-trade-no/NOSUCH001?mchid=" + r.v["mchid"]
	for _, tt := range []struct {
		name   string
		key    *rsa.PrivateKey
		skew   time.Duration
		status int
	}{
		{"good", r.key, 0, 404}, // signed well: the order does not exist
		{"another key", other, 0, 401},
		{"six minutes old", r.key, -6 * time.Minute, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := r.do(t, "GET", uri, "", tt.key, tt.skew)
			body := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			var e struct{ Code, Message string }
			_ = json.Unmarshal(body, &e)
			want := map[int]string{401: "SIGN_ERROR", 404: "ORDER_NOT_EXIST"}[tt.status]
			if e.Code != want || e.Message == "" {
				t.Errorf("answer %s, want code %s", body, want)
			}
		})
	}
	resp, err := r.srv.Client().Get(r.srv.URL + base + uri)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no Authorization: %d, want 401", resp.StatusCode)
	}
}

// verify checks an answer's signature with the platform certificate or public key.
func verify(t *testing.T, r *rig, resp *http.Response, body []byte) {
	t.Helper()
	h := resp.Header
	var pub *rsa.PublicKey
	if serial := h.Get("Wechatpay-Serial"); strings.HasPrefix(serial, "PUB_KEY_ID_") {
		k, err := utils.LoadPublicKey(r.sim.MerchantValues()["public_key"])
		if err != nil {
			t.Fatal(err)
		}
		pub = k
	} else {
		pub = certificates(t, r)[serial]
	}
	if pub == nil {
		t.Fatalf("no key for serial %q", h.Get("Wechatpay-Serial"))
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("answer signature does not verify: %v", err)
	}
}

func certificates(t *testing.T, r *rig) map[string]*rsa.PublicKey {
	t.Helper()
	resp := r.do(t, "GET", "/v3/certificates", "", r.key, 0)
	var ans struct {
		Data []struct {
			SerialNo string `json:"serial_no"`
			Enc      struct {
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(readAll(t, resp), &ans); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, d := range ans.Data {
		text, err := utils.DecryptAES256GCM(r.v["apiv3_key"], d.Enc.AssociatedData, d.Enc.Nonce, d.Enc.Ciphertext)
		if err != nil {
			t.Fatalf("certificate does not decrypt with the APIv3 key: %v", err)
		}
		c, err := utils.LoadCertificate(text)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ToUpper(c.SerialNumber.Text(16)) != d.SerialNo {
			t.Errorf("serial_no %s, certificate %X", d.SerialNo, c.SerialNumber)
		}
		out[d.SerialNo] = c.PublicKey.(*rsa.PublicKey)
	}
	return out
}

func TestEvery2xxIsSigned(t *testing.T) {
	r := newRig(t)
	create := `{"appid":"` + r.v["appid"] + `","mchid":"` + r.v["mchid"] + `","description":"学费","out_trade_no":"SIG000001","notify_url":"http://127.0.0.1:1/n","amount":{"total":1,"currency":"CNY"}}`
	resp := r.do(t, "POST", "/v3/pay/transactions/native", create, r.key, 0)
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"code_url"`)) {
		t.Fatalf("native: %d %s", resp.StatusCode, body)
	}
	verify(t, r, resp, body)

	resp = r.do(t, "POST", "/v3/pay/transactions/out-trade-no/SIG000001/close", `{"mchid":"`+r.v["mchid"]+`"}`, r.key, 0)
	body = readAll(t, resp)
	if resp.StatusCode != 204 || len(body) != 0 || resp.Header.Get("Wechatpay-Signature") == "" {
		t.Fatalf("close: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	verify(t, r, resp, body)

	// Rotated certificate and public-key mode sign too, under their own serials.
	serial := r.sim.RotatePlatformCert()
	resp = r.do(t, "GET", "/v3/pay/transactions/out-trade-no/SIG000001?mchid="+r.v["mchid"], "", r.key, 0)
	body = readAll(t, resp)
	if resp.Header.Get("Wechatpay-Serial") != serial || len(certificates(t, r)) != 2 {
		t.Errorf("after rotation: serial %s, want %s and both certificates listed", resp.Header.Get("Wechatpay-Serial"), serial)
	}
	verify(t, r, resp, body)
	if err := r.sim.SetMode(wxsim.ModePublicKey); err != nil {
		t.Fatal(err)
	}
	resp = r.do(t, "GET", "/v3/pay/transactions/out-trade-no/SIG000001?mchid="+r.v["mchid"], "", r.key, 0)
	body = readAll(t, resp)
	if resp.Header.Get("Wechatpay-Serial") != r.v["public_key_id"] {
		t.Errorf("public-key mode answered under %s", resp.Header.Get("Wechatpay-Serial"))
	}
	verify(t, r, resp, body)
}

func TestPagesAndSwitches(t *testing.T) {
	r := newRig(t)
	create := `{"appid":"` + r.v["appid"] + `","mchid":"` + r.v["mchid"] + `","description":"考试报名费","out_trade_no":"PAGE00001","notify_url":"http://127.0.0.1:1/n","amount":{"total":3050,"currency":"CNY"}}`
	resp := r.do(t, "POST", "/v3/pay/transactions/native", create, r.key, 0)
	var ans struct {
		CodeURL string `json:"code_url"`
	}
	_ = json.Unmarshal(readAll(t, resp), &ans)
	page, err := r.srv.Client().Get(ans.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	html := string(readAll(t, page))
	for _, want := range []string{"确认支付", "考试报名费", "¥30.50", `lang="zh-CN"`} {
		if !strings.Contains(html, want) {
			t.Errorf("pay page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "style=") || strings.Contains(html, "http://") {
		t.Errorf("pay page has script, inline style or an external asset:\n%s", html)
	}
	confirm, err := r.srv.Client().PostForm(ans.CodeURL+"/confirm", nil)
	if err != nil {
		t.Fatal(err)
	}
	if confirm.StatusCode != 200 || !strings.Contains(string(readAll(t, confirm)), "支付成功") {
		t.Errorf("confirm: %d", confirm.StatusCode)
	}
	if tr, _ := r.sim.Trade("PAGE00001"); tr.State != wxsim.StateSuccess || tr.TransactionID == "" {
		t.Errorf("after confirm: %+v", tr)
	}

	post, err := r.srv.Client().Post(r.srv.URL+base+"/switches", "application/json",
		strings.NewReader(`{"drop_notify":true,"amount_delta_fen":5,"other_mchid":"1900009999"}`))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if sw := r.sim.Switches(); post.StatusCode != 200 || !sw.DropNotify || sw.AmountDeltaFen != 5 || sw.OtherMchID != "1900009999" {
		t.Errorf("switches after POST: %d %+v", post.StatusCode, sw)
	}
	bad, _ := r.srv.Client().Post(r.srv.URL+base+"/switches", "application/json", strings.NewReader(`{"duplicate_notify":99}`))
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Errorf("duplicate_notify 99: %d, want 400", bad.StatusCode)
	}
	rot, _ := r.srv.Client().Post(r.srv.URL+base+"/rotate", "application/json", strings.NewReader(`{"what":"public_key"}`))
	var rotated struct{ Serial string }
	_ = json.Unmarshal(readAll(t, rot), &rotated)
	if !strings.HasPrefix(rotated.Serial, "PUB_KEY_ID_") || rotated.Serial == r.v["public_key_id"] {
		t.Errorf("rotate public key: %+v", rotated)
	}
}
