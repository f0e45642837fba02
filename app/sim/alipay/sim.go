// Package alipay is an in-process fake of the Alipay open platform (支付宝开放平台) that
// speaks its real wire format, for tests, training and the demo.
//
// It serves, under its base path:
//
//	POST /gateway.do  the open API: form requests signed RSA2 by the app, answers
//	                  {"<method>_response": {…}, "sign": "…"} signed over the inner bytes
//	GET  /gateway.do  alipay.trade.wap.pay and alipay.trade.page.pay: the signed address the
//	                  payer's browser opens; it leads to the hosted page
//	GET  /pay/{no}    the hosted "scan and pay" page (the QR code leads here too)
//	POST /pay/{no}    确认支付 or 取消
//	GET  /bill/{tok}  the statement zip a bill download address points to (30 s)
//	GET  /switches, POST /switches   the switches as JSON
//	POST /rotate      rotate Alipay's certificate ({"untrusted": true}: under a foreign root)
//
// At construction it generates its own keys: a root CA, Alipay's signing key and public
// certificate, and the app's key pair and app certificate. MerchantValues and
// CertMerchantValues give what the adapter's fields need for public-key and certificate
// mode. It keeps trades and refunds through their states, sends signed notifications and
// retries them on Alipay's schedule (compressed by RetryCompression) until it hears
// "success", and serves the trade bill as a zip with GBK names and content.
package alipay

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// shanghai is Beijing time, Alipay's wire time.
var shanghai = time.FixedZone("CST", 8*3600)

const (
	wireTime = "2006-01-02 15:04:05"
	// maxForm bounds a request the gateway reads.
	maxForm = 1 << 20
	// maxDuplicates bounds the duplicate switch.
	maxDuplicates = 10
	maxDelay      = 10 * time.Minute
	billValidity  = 30 * time.Second
)

// alipaySchedule is Alipay's notification retry schedule after the first attempt.
var alipaySchedule = []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// Sim is the fake Alipay. Create it with New; it is an http.Handler.
type Sim struct {
	base   string
	now    func() time.Time
	client *http.Client
	mux    *http.ServeMux

	// RetryCompression divides Alipay's retry schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h):
	// 60 (the default) turns minutes into seconds. Set it before the first payment.
	RetryCompression int64

	appID, sellerID, authToken string
	appKey                     *rsa.PrivateKey
	appCert                    *x509.Certificate
	rootKey                    *rsa.PrivateKey
	rootCert                   *x509.Certificate

	mu       sync.Mutex
	aliKey   *rsa.PrivateKey
	aliCert  *x509.Certificate
	issued   map[string]*x509.Certificate // every Alipay certificate ever in force, by serial
	trades   map[string]*trade            // by out_trade_no
	byNo     map[string]*trade            // by trade_no
	bills    map[string]bill              // by download token
	calls    []Call
	switches Switches
	held     []notice
	ctx      context.Context
	cancel   context.CancelFunc
	closed   bool
	wg       sync.WaitGroup
	serial   int64
}

// Call is one gateway request as the fake received it, for tests to inspect.
type Call struct {
	Method       string
	AppAuthToken string
	NotifyURL    string
	ReturnURL    string
	AppCertSN    string
	Biz          map[string]any
}

// New builds a fake Alipay served under basePath (e.g. "/sim/alipay"), reading the time
// from now (nil: time.Now) and sending notifications with client (nil: a 10 s client).
func New(basePath string, now func() time.Time, client *http.Client) (*Sim, error) {
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Sim{
		base: strings.TrimRight(basePath, "/"), now: now, client: client,
		RetryCompression: 60,
		issued:           map[string]*x509.Certificate{},
		trades:           map[string]*trade{}, byNo: map[string]*trade{}, bills: map[string]bill{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var err error
	s.appID = "2021" + digits(12)
	s.sellerID = "2088" + digits(12)
	s.authToken = "202409BB" + hex.EncodeToString(randomBytes(16))
	if s.rootKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if s.rootCert, err = s.selfSigned(s.rootKey, "Ant Financial Certification Authority R1 (simulated)"); err != nil {
		return nil, err
	}
	if s.appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if s.appCert, err = s.issue(s.rootCert, s.rootKey, &s.appKey.PublicKey, s.appID); err != nil {
		return nil, err
	}
	if err := s.rotate(false); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the fake under its base path.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST "+s.base+"/gateway.do", s.gateway)
	m.HandleFunc("GET "+s.base+"/gateway.do", s.pagePay)
	m.HandleFunc("GET "+s.base+"/pay/{no}", s.payPage)
	m.HandleFunc("POST "+s.base+"/pay/{no}", s.payAction)
	m.HandleFunc("GET "+s.base+"/bill/{token}", s.billDownload)
	m.HandleFunc("GET "+s.base+"/switches", s.getSwitches)
	m.HandleFunc("POST "+s.base+"/switches", s.postSwitches)
	m.HandleFunc("POST "+s.base+"/rotate", s.postRotate)
	s.mux = m
}

// Close stops sending notifications and waits for the goroutines that send them.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.held = nil
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// AppID is the app id the fake expects; SellerID the PID it collects for.
func (s *Sim) AppID() string    { return s.appID }
func (s *Sim) SellerID() string { return s.sellerID }

// AppAuthToken is the sub-merchant token the fake accepts (特约商户 mode).
func (s *Sim) AppAuthToken() string { return s.authToken }

// MerchantValues are the adapter's Field values for public-key mode, given the gateway
// address the platform reaches the fake at (e.g. "http://127.0.0.1:8080/sim/alipay/gateway.do").
func (s *Sim) MerchantValues(gateway string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pub, _ := x509.MarshalPKIXPublicKey(&s.aliKey.PublicKey)
	return map[string]string{
		"app_id":            s.appID,
		"seller_id":         s.sellerID,
		"private_key":       s.appPrivatePEM(),
		"alipay_public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"gateway":           gateway,
	}
}

// CertMerchantValues are the adapter's Field values for certificate mode.
func (s *Sim) CertMerchantValues(gateway string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{
		"app_id":           s.appID,
		"seller_id":        s.sellerID,
		"private_key":      s.appPrivatePEM(),
		"app_cert":         certPEM(s.appCert),
		"alipay_root_cert": certPEM(s.rootCert),
		"alipay_cert":      certPEM(s.aliCert),
		"gateway":          gateway,
	}
}

func (s *Sim) appPrivatePEM() string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.appKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// AlipayCertSN is the serial of Alipay's certificate in force.
func (s *Sim) AlipayCertSN() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return certSN(s.aliCert)
}

// RotateCert replaces Alipay's signing key and certificate, as Alipay does before its
// certificate expires. With untrusted, the new certificate is issued by a root the
// merchant never configured (what a forger would present).
func (s *Sim) RotateCert(untrusted bool) error {
	return s.rotate(untrusted)
}

func (s *Sim) rotate(untrusted bool) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	issuer, issuerKey := s.rootCert, s.rootKey
	if untrusted {
		if issuerKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return err
		}
		if issuer, err = s.selfSigned(issuerKey, "Ant Financial Certification Authority R1 (simulated)"); err != nil {
			return err
		}
	}
	cert, err := s.issue(issuer, issuerKey, &key.PublicKey, "支付宝(中国)网络技术有限公司-"+s.appID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aliKey, s.aliCert = key, cert
	s.issued[certSN(cert)] = cert
	return nil
}

// Calls returns the gateway requests received so far.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Sim) nextSerial() *big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	return big.NewInt(time.Now().UnixNano() + s.serial)
}

func (s *Sim) selfSigned(key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber:          s.nextSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Ant Financial"}, Country: []string{"CN"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (s *Sim) issue(parent *x509.Certificate, parentKey *rsa.PrivateKey, pub *rsa.PublicKey, cn string) (*x509.Certificate, error) {
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber: s.nextSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Ant Financial"}, Country: []string{"CN"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// certSN is Alipay's certificate serial: MD5 of the issuer DN and the decimal serial.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("alipay sim: crypto/rand: " + err.Error()) // does not fail on supported systems
	}
	return b
}

// digits returns n random decimal digits.
func digits(n int) string {
	var b strings.Builder
	for _, c := range randomBytes(n) {
		b.WriteByte('0' + c%10)
	}
	return b.String()
}

func (s *Sim) newTradeNo() string {
	return s.now().In(shanghai).Format("20060102") + "22001" + digits(15)
}

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
