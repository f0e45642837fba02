// Package wechatpay is an in-process fake of WeChat Pay API v3 (微信支付) that speaks the
// real wire format, for the adapter's tests and the demo.
//
// It checks the platform's Authorization signatures (401 SIGN_ERROR on a bad one), signs
// every 2xx answer — an empty 204 too — with Wechatpay-Timestamp/Nonce/Serial/Signature under
// the key in force (a platform certificate or the WeChat Pay public key), serves
// /v3/certificates with the certificates encrypted under the APIv3 key, keeps trades and
// refunds through their states (refunds answer PROCESSING first and settle afterwards),
// sends encrypted notifications and retries them until they are acknowledged, rotates its
// keys and switches between certificate and public-key mode on request, serves the trade
// bill gzipped with its SHA1, and plays the payer's side: a hosted "scan and pay" page, the
// H5 page, the JSAPI payment sheet and WeChat's OAuth snsapi_base.
//
// All keys are generated at construction; nothing secret is stored in the repository.
package wechatpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Modes of answer signing.
const (
	ModePlatformCert = "platform_cert"
	ModePublicKey    = "public_key"
)

const (
	maxRequestBytes = 64 << 10
	authWindow      = 5 * time.Minute
	maxNotifyTries  = 15
	defaultRetry    = 15 * time.Second
	notifyHTTPLimit = 10 * time.Second
	maxHeldNotices  = 1000
	maxDuplicates   = 10
	maxNotifyDelay  = 10 * time.Minute
	defaultSubMchID = "1900000201"
	defaultMchID    = "1900000109"
	defaultAppID    = "wx8888888888888888"
	simulatedOpenID = "oSIMpayer0000000000000000000"
	authScheme      = "WECHATPAY2-SHA256-RSA2048"
	certValidity    = 5 * 365 * 24 * time.Hour
)

// shanghai is Asia/Shanghai (fixed +08:00, as China has kept since 1991).
var shanghai = time.FixedZone("CST", 8*3600)

// Switches make the fake misbehave like the real company sometimes does.
type Switches struct {
	DropNotify      bool          `json:"drop_notify"`      // never send notifications
	NotifyDelay     time.Duration `json:"notify_delay"`     // wait before the first delivery
	DuplicateNotify int           `json:"duplicate_notify"` // send each notification this many extra times
	Reorder         bool          `json:"reorder"`          // hold notifications; send newest first when turned off
	AmountDeltaFen  int64         `json:"amount_delta_fen"` // report total+delta in notifications and queries
	OtherMchID      string        `json:"other_mchid"`      // report this merchant number instead
	OtherAppID      string        `json:"other_appid"`      // report this app id instead
	RetryEvery      time.Duration `json:"retry_every"`      // between deliveries of an unacknowledged notification (0: 15 s)
	HoldRefunds     bool          `json:"hold_refunds"`     // refunds stay PROCESSING until SettleRefunds
	RefundOutcome   string        `json:"refund_outcome"`   // SUCCESS (default), CLOSED or ABNORMAL
	BillTamper      string        `json:"bill_tamper"`      // "hash": a wrong hash_value; "totals": a summary 1 fen off
	BillBOM         bool          `json:"bill_bom"`         // start the bill with a UTF-8 BOM
	Unavailable     bool          `json:"unavailable"`      // answer every API call 500 SYSTEM_ERROR
	Garbage         bool          `json:"garbage"`          // answer every API call 200 with a signed non-JSON body
}

type platformCert struct {
	serial string
	key    *rsa.PrivateKey
	pem    string
	from   time.Time
	until  time.Time
}

type publicKey struct {
	id  string
	key *rsa.PrivateKey
}

// Sim is the fake WeChat Pay. Create it with New; it is an http.Handler.
type Sim struct {
	base   string
	now    func() time.Time
	client *http.Client
	mux    *http.ServeMux

	mchID, appID, subMchID, appSecret string
	serial                            string // the merchant's API certificate serial
	merchantKey                       *rsa.PrivateKey
	apiv3Key                          string

	mu        sync.Mutex
	publicURL string
	mode      string
	certs     []*platformCert // oldest first; the last signs
	pub       publicKey
	switches  Switches
	trades    map[string]*trade  // collecting mchid + "/" + out_trade_no
	byCode    map[string]*trade  // pay page code or prepay id → trade
	refunds   map[string]*refund // collecting mchid + "/" + out_refund_no
	codes     map[string]string  // OAuth code → appid
	bills     map[string][]byte  // download token → gzip
	held      []notice
	seq       int64
	closed    bool
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	delivered []Delivery
}

// New builds the fake mounted at base (e.g. "/sim/wechatpay"), with clock now (nil:
// time.Now) and client for the notifications it sends (nil: a 10-second client). It
// generates the merchant's API key, a platform certificate, a WeChat Pay public key and
// the APIv3 key.
func New(base string, now func() time.Time, client *http.Client) *Sim {
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = &http.Client{Timeout: notifyHTTPLimit}
	}
	s := &Sim{
		base: strings.TrimSuffix(base, "/"), now: now, client: client,
		mchID: defaultMchID, appID: defaultAppID, subMchID: defaultSubMchID,
		appSecret:   randomHex(16),
		merchantKey: newKey(),
		apiv3Key:    randomHex(16),
		mode:        ModePlatformCert,
		trades:      map[string]*trade{}, byCode: map[string]*trade{},
		refunds: map[string]*refund{}, codes: map[string]string{}, bills: map[string][]byte{},
	}
	s.serial = strings.ToUpper(randomHex(20))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.certs = []*platformCert{s.newCert()}
	s.pub = publicKey{id: "PUB_KEY_ID_" + strings.ToUpper(randomHex(12)), key: newKey()}
	s.routes()
	return s
}

func newKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("wechatpay sim: generate key: " + err.Error())
	}
	return k
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (s *Sim) newCert() *platformCert {
	key := newKey()
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	sn := new(big.Int).SetBytes(b)
	sn.SetBit(sn, 79, 1) // 20 hex digits, never a leading zero
	from := s.now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA 模拟平台证书", Organization: []string{"CampusPay 模拟微信支付"}},
		NotBefore:    from,
		NotAfter:     from.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("wechatpay sim: create certificate: " + err.Error())
	}
	return &platformCert{
		serial: strings.ToUpper(sn.Text(16)), key: key,
		pem:  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		from: from, until: from.Add(certValidity),
	}
}

// ServeHTTP serves the API, the payer's pages and the switches under the base path.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.StripPrefix(s.base, s.mux).ServeHTTP(w, r)
}

// SetPublicURL sets the absolute address of the base path as a browser reaches it (e.g.
// "http://127.0.0.1:8080/sim/wechatpay"); without it the request's host is used.
func (s *Sim) SetPublicURL(u string) {
	s.mu.Lock()
	s.publicURL = strings.TrimSuffix(u, "/")
	s.mu.Unlock()
}

func (s *Sim) absolute(r *http.Request) string {
	s.mu.Lock()
	pub := s.publicURL
	s.mu.Unlock()
	if pub != "" {
		return pub
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.base
}

// MerchantValues are the adapter's Field values for the direct merchant: its number, app
// id, API certificate serial and private key (PEM), the APIv3 key, the verification mode
// now in force with the public key and its id, the official account's secret, and the
// API base when SetPublicURL has been called.
func (s *Sim) MerchantValues() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	der, _ := x509.MarshalPKCS8PrivateKey(s.merchantKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(&s.pub.key.PublicKey)
	v := map[string]string{
		"mchid":         s.mchID,
		"appid":         s.appID,
		"cert_serial":   s.serial,
		"private_key":   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"apiv3_key":     s.apiv3Key,
		"verify_mode":   s.mode,
		"public_key_id": s.pub.id,
		"public_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		"app_secret":    s.appSecret,
	}
	if s.publicURL != "" {
		v["api_base"] = s.publicURL
	}
	return v
}

// PartnerValues are the Field values for service-provider mode: the same keys, the
// merchant acting as service provider (sp_mchid, sp_appid) for the sub-merchant SubMchID.
func (s *Sim) PartnerValues() map[string]string {
	v := s.MerchantValues()
	v["sp_mchid"], v["sp_appid"], v["sub_mchid"] = v["mchid"], v["appid"], s.subMchID
	delete(v, "mchid")
	delete(v, "appid")
	return v
}

// MchID, AppID and SubMchID are the fake's merchant numbers and official account.
func (s *Sim) MchID() string    { return s.mchID }
func (s *Sim) AppID() string    { return s.appID }
func (s *Sim) SubMchID() string { return s.subMchID }

// Switches returns the switches in force.
func (s *Sim) Switches() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.switches
}

// SetSwitches sets the switches. Turning Reorder off sends the held notifications, newest
// first.
func (s *Sim) SetSwitches(sw Switches) error {
	if sw.DuplicateNotify < 0 || sw.DuplicateNotify > maxDuplicates {
		return fmt.Errorf("duplicate_notify must be 0–%d", maxDuplicates)
	}
	if sw.NotifyDelay < 0 || sw.NotifyDelay > maxNotifyDelay || sw.RetryEvery < 0 {
		return fmt.Errorf("notify_delay must be 0–%s and retry_every not negative", maxNotifyDelay)
	}
	switch sw.RefundOutcome {
	case "", "SUCCESS", "CLOSED", "ABNORMAL":
	default:
		return fmt.Errorf("refund_outcome must be SUCCESS, CLOSED or ABNORMAL")
	}
	switch sw.BillTamper {
	case "", "hash", "totals":
	default:
		return fmt.Errorf(`bill_tamper must be "", "hash" or "totals"`)
	}
	s.mu.Lock()
	release := s.switches.Reorder && !sw.Reorder
	s.switches = sw
	var held []notice
	if release {
		held, s.held = s.held, nil
	}
	s.mu.Unlock()
	if len(held) > 0 {
		s.releaseNewestFirst(held)
	}
	return nil
}

// SetMode makes answers and notifications signed with a platform certificate
// (ModePlatformCert) or with the WeChat Pay public key (ModePublicKey).
func (s *Sim) SetMode(mode string) error {
	if mode != ModePlatformCert && mode != ModePublicKey {
		return fmt.Errorf("mode must be %s or %s", ModePlatformCert, ModePublicKey)
	}
	s.mu.Lock()
	s.mode = mode
	s.mu.Unlock()
	return nil
}

// RotatePlatformCert issues a new platform certificate, which signs from now on; the old
// one stays in /v3/certificates until it expires, as WeChat does during a rotation. It
// returns the new serial.
func (s *Sim) RotatePlatformCert() string {
	c := s.newCert()
	s.mu.Lock()
	s.certs = append(s.certs, c)
	if len(s.certs) > 2 {
		s.certs = s.certs[len(s.certs)-2:]
	}
	s.mu.Unlock()
	return c.serial
}

// RotatePublicKey replaces the WeChat Pay public key and its id (the merchant must enter
// the new ones). It returns the new id.
func (s *Sim) RotatePublicKey() string {
	k := publicKey{id: "PUB_KEY_ID_" + strings.ToUpper(randomHex(12)), key: newKey()}
	s.mu.Lock()
	s.pub = k
	s.mu.Unlock()
	return k.id
}

// Serial is the serial that signs answers now (a certificate serial or PUB_KEY_ID_…).
func (s *Sim) Serial() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	serial, _ := s.signerLocked()
	return serial
}

func (s *Sim) signerLocked() (string, *rsa.PrivateKey) {
	if s.mode == ModePublicKey {
		return s.pub.id, s.pub.key
	}
	c := s.certs[len(s.certs)-1]
	return c.serial, c.key
}

// Close stops the notifications: pending deliveries are abandoned and Close returns once
// every background goroutine has ended.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.held = nil
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// signHeaders signs body with the key in force, as WeChat signs answers and notifications.
func (s *Sim) signHeaders(h http.Header, body []byte) {
	s.mu.Lock()
	serial, key := s.signerLocked()
	s.mu.Unlock()
	signWith(h, body, serial, key, s.now())
}

func signWith(h http.Header, body []byte, serial string, key *rsa.PrivateKey, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := strings.ToUpper(randomHex(16))
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Request-Id", "SIM-"+strings.ToUpper(randomHex(8)))
}

// answer writes a signed 2xx answer (v nil: an empty body).
func (s *Sim) answer(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			panic(err)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	s.signHeaders(w.Header(), body)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// refuse writes WeChat's error answer (not signed).
func refuse(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

// encrypt seals plaintext as WeChat's AEAD_AES_256_GCM resources are sealed.
func (s *Sim) encrypt(plain []byte, associated string) map[string]string {
	block, err := aes.NewCipher([]byte(s.apiv3Key))
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := randomHex(6) // 12 characters, as WeChat's nonces are
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(associated))
	return map[string]string{
		"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": associated,
		"ciphertext": base64.StdEncoding.EncodeToString(sealed),
	}
}

// authenticate checks the Authorization header of an API request and returns the
// merchant number it names, the body read (bounded), or writes 401 SIGN_ERROR.
func (s *Sim) authenticate(w http.ResponseWriter, r *http.Request) (string, []byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "请求体过大")
		return "", nil, false
	}
	fail := func(why string) (string, []byte, bool) {
		refuse(w, http.StatusUnauthorized, "SIGN_ERROR", "签名错误，请检查后再试（"+why+"）")
		return "", nil, false
	}
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, authScheme+" ")
	if !ok {
		return fail("Authorization 认证类型不正确")
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fail("Authorization 格式不正确")
		}
		params[k] = strings.Trim(v, `"`)
	}
	if params["mchid"] != s.mchID {
		return fail("商户号不存在")
	}
	if !strings.EqualFold(params["serial_no"], s.serial) {
		return fail("商户证书序列号有误")
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return fail("时间戳不正确")
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > authWindow || d < -authWindow {
		return fail("时间戳已过期")
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || params["nonce_str"] == "" {
		return fail("签名格式不正确")
	}
	uri := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	msg := r.Method + "\n" + uri + "\n" + params["timestamp"] + "\n" + params["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(&s.merchantKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return fail("签名验证失败")
	}
	s.mu.Lock()
	sw := s.switches
	s.mu.Unlock()
	if sw.Unavailable {
		refuse(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统繁忙，请稍后重试")
		return "", nil, false
	}
	if sw.Garbage {
		w.Header().Set("Content-Type", "application/json")
		s.signHeaders(w.Header(), []byte("<html>502 Bad Gateway</html>"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
		return "", nil, false
	}
	return params["mchid"], body, true
}

// decodeJSON reads a request body into v, refusing unknown shapes.
func decodeJSON(w http.ResponseWriter, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的 JSON："+err.Error())
		return false
	}
	return true
}

func (s *Sim) nextID(prefix string, digits int) string {
	s.seq++
	day := s.now().In(shanghai).Format("20060102")
	n := strconv.FormatInt(s.seq, 10)
	pad := digits - len(prefix) - len(day) - len(n)
	if pad < 0 {
		pad = 0
	}
	return prefix + day + strings.Repeat("0", pad) + n
}
