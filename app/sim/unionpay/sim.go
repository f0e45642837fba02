// Package unionpay is an in-process fake of UnionPay online payment (银联全渠道 5.1.0) for
// tests, training and the demo. It speaks the real wire format: form POSTs signed with
// signMethod 01 (SHA-256 with RSA over the lowercase hex SHA-256 of the sorted k=v& string),
// checked against the merchant certificate named by certId (a bad one is answered
// respCode 11 验证签名失败); answers are unescaped k=v& bodies and notifications are form
// POSTs to backUrl, both signed with a leaf certificate it attaches as signPubKeyCert.
//
// At construction it generates its own chain (root → middle → signing leaf, CN
// "086@1@中国银联股份有限公司@00040000:SIGN") and a merchant PKCS#12 for the platform;
// MerchantValues gives the adapter's field values. Served under a base path:
//
//	POST <base>/gateway/api/frontTransReq.do  the payer's browser posts the consume form;
//	                                          answered with the hosted pay page (确认支付)
//	POST <base>/pay                           the payer confirms: paid, backUrl notified, and
//	                                          a page posts the signed result to frontUrl
//	POST <base>/gateway/api/backTransReq.do   refund (04) and same-day revoke (31): accepted
//	                                          (respCode 00), finished asynchronously
//	POST <base>/gateway/api/queryTrans.do     query by orderId + txnTime
//	POST <base>/filedownload/                 file transfer (txnType 76): the day's zip
//	GET|POST <base>/switches                  misbehaviour switches (JSON)
//	POST <base>/rotate                        a new signing leaf
//
// Simplifications: a consume the payer has opened but not paid is answered origRespCode
// 05, one whose payTimeout passed unpaid origRespCode 01; refunds succeed unless held.
package unionpay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	maxRequest  = 64 << 10
	maxAttempts = 5 // notifications: first try and retries
	merIDFake   = "777290058110048"
)

var beijing = time.FixedZone("CST", 8*3600)

// Option changes how New builds the fake.
type Option func(*options)

type options struct{ sha1 bool }

// WithSHA1Chain signs the root, middle and leaf certificates with SHA-1, like UnionPay's
// older test environment: Go's x509 refuses to verify them, so the adapter must check the
// chain itself.
func WithSHA1Chain() Option { return func(o *options) { o.sha1 = true } }

// Sim is the fake UnionPay gateway; it is an http.Handler.
type Sim struct {
	// RetryInterval is the wait before the n-th retry of a notification is n×RetryInterval;
	// set it before use. Default 2 s.
	RetryInterval time.Duration

	base   string
	now    func() time.Time
	client *http.Client
	mux    *http.ServeMux

	mu       sync.Mutex
	ca       *chain
	merID    string
	merCert  *x509.Certificate
	pfx      []byte
	pfxPass  string
	txns     map[string]*txn // merId|orderId|txnTime
	byQuery  map[string]*txn
	tokens   map[string]*txn
	seq      int64
	switches Switches
	held     []notice

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the fake served under basePath (e.g. "/sim/unionpay"), with its clock and the
// client its notifications go out through (nil: a 10 s client).
func New(basePath string, now func() time.Time, client *http.Client, opts ...Option) (*Sim, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if now == nil {
		now = time.Now
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	alg := x509.SHA256WithRSA
	if o.sha1 {
		alg = x509.SHA1WithRSA
	}
	ca, err := newChain(now(), alg)
	if err != nil {
		return nil, fmt.Errorf("sim/unionpay: chain: %w", err)
	}
	s := &Sim{
		RetryInterval: 2 * time.Second,
		base:          strings.TrimRight(basePath, "/"),
		now:           now,
		client:        client,
		ca:            ca,
		merID:         merIDFake,
		pfxPass:       randomHex(8),
		txns:          map[string]*txn{},
		byQuery:       map[string]*txn{},
		tokens:        map[string]*txn{},
	}
	if s.merCert, s.pfx, err = ca.merchantPFX(s.merID, s.pfxPass, now()); err != nil {
		return nil, fmt.Errorf("sim/unionpay: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+s.base+"/gateway/api/frontTransReq.do", s.front)
	s.mux.HandleFunc("POST "+s.base+"/pay", s.pay)
	s.mux.HandleFunc("POST "+s.base+"/gateway/api/backTransReq.do", s.back)
	s.mux.HandleFunc("POST "+s.base+"/gateway/api/queryTrans.do", s.query)
	s.mux.HandleFunc("POST "+s.base+"/filedownload/", s.file)
	s.mux.HandleFunc("GET "+s.base+"/switches", s.getSwitches)
	s.mux.HandleFunc("POST "+s.base+"/switches", s.postSwitches)
	s.mux.HandleFunc("POST "+s.base+"/rotate", s.rotate)
	return s, nil
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the notifications in flight and waits for them.
func (s *Sim) Close() {
	s.cancel()
	s.wg.Wait()
}

// MerID is the merchant number the fake knows the platform by.
func (s *Sim) MerID() string { return s.merID }

// MerchantValues are the adapter's field values for this fake, reached at serverURL (the
// origin the fake is served on, e.g. an httptest server's URL).
func (s *Sim) MerchantValues(serverURL string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{
		"mer_id":             s.merID,
		"sign_cert_pfx":      base64.StdEncoding.EncodeToString(s.pfx),
		"sign_cert_password": s.pfxPass,
		"root_cert":          certPEM(s.ca.root),
		"middle_cert":        certPEM(s.ca.middle),
		"gateway_url":        strings.TrimRight(serverURL, "/") + s.base,
	}
}

// RotateLeaf replaces UnionPay's signing certificate with a new key and leaf under the same
// middle; answers and notifications from now on carry the new one.
func (s *Sim) RotateLeaf() error {
	now := s.now()
	return s.IssueLeaf(LeafCN(OrgUnionPay), now.Add(-time.Hour), now.AddDate(1, 0, 0))
}

// IssueLeaf makes the fake sign with a new leaf of the given CN and validity (tests use it
// for a certificate naming another organisation or an expired one).
func (s *Sim) IssueLeaf(cn string, notBefore, notAfter time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ca.issueLeaf(cn, notBefore, notAfter)
}

// LeafSerial is the current signing certificate's serial in decimal.
func (s *Sim) LeafSerial() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ca.leaf.SerialNumber.String()
}

func (s *Sim) rotate(w http.ResponseWriter, r *http.Request) {
	if err := s.RotateLeaf(); err != nil {
		http.Error(w, "轮换证书失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"cert_id":%q}`+"\n", s.LeafSerial())
}

// signingString is the sorted k=v&… string of every field but signature.
func signingString(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + f[k]
	}
	return strings.Join(parts, "&")
}

func digest(f map[string]string) []byte {
	h := sha256.Sum256([]byte(signingString(f)))
	d := sha256.Sum256([]byte(hex.EncodeToString(h[:])))
	return d[:]
}

// Sign signs fields the way UnionPay signs its answers and notifications: it attaches the
// current leaf as signPubKeyCert and sets signMethod and signature. Tests use it to craft
// notifications.
func (s *Sim) Sign(f map[string]string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signLocked(f)
}

func (s *Sim) signLocked(f map[string]string) map[string]string {
	out := make(map[string]string, len(f)+4)
	for k, v := range f {
		out[k] = v
	}
	if out["version"] == "" {
		out["version"] = "5.1.0"
	}
	if out["encoding"] == "" {
		out["encoding"] = "UTF-8"
	}
	out["signMethod"] = "01"
	out["signPubKeyCert"] = s.ca.leafPEM
	delete(out, "signature")
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.ca.leafKey, crypto.SHA256, digest(out))
	if err != nil {
		panic(err) // a 2048-bit key signs a 32-byte digest
	}
	out["signature"] = base64.StdEncoding.EncodeToString(sig)
	return out
}

// readRequest reads and checks a platform request: a bounded form, each field once,
// version 5.1.0, signMethod 01, certId naming the merchant certificate the fake issued,
// merId the fake's merchant, and a signature that verifies. code is the respCode to answer
// when it does not pass.
func (s *Sim) readRequest(w http.ResponseWriter, r *http.Request) (f map[string]string, code, msg string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil {
		return nil, "10", "报文格式错误"
	}
	f = map[string]string{}
	for k, v := range r.PostForm {
		if len(v) != 1 {
			return nil, "10", "报文格式错误[" + k + "]"
		}
		f[k] = v[0]
	}
	if f["version"] != "5.1.0" || f["signMethod"] != "01" {
		return nil, "10", "报文格式错误[version/signMethod]"
	}
	s.mu.Lock()
	cert, merID := s.merCert, s.merID
	s.mu.Unlock()
	sig, err := base64.StdEncoding.DecodeString(f["signature"])
	if err != nil || f["certId"] != cert.SerialNumber.String() || f["merId"] != merID ||
		rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest(f), sig) != nil {
		return nil, "11", "验证签名失败"
	}
	return f, "", ""
}

// answer writes a signed synchronous answer: k=v&… unescaped, as UnionPay does.
func (s *Sim) answer(w http.ResponseWriter, f map[string]string) {
	s.mu.Lock()
	signed := s.signLocked(f)
	s.mu.Unlock()
	s.writeAnswer(w, signed)
}

func (s *Sim) writeAnswer(w http.ResponseWriter, f map[string]string) {
	body := signingString(f)
	if sig, ok := f["signature"]; ok {
		body += "&signature=" + sig
	}
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	fmt.Fprint(w, body)
}

// refuse answers an unsigned refusal, as UnionPay does for a request it cannot trust.
func (s *Sim) refuse(w http.ResponseWriter, code, msg string) {
	s.writeAnswer(w, map[string]string{"version": "5.1.0", "respCode": code, "respMsg": msg})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// EncodeForm is how a notification body travels.
func EncodeForm(f map[string]string) string {
	v := url.Values{}
	for k, x := range f {
		v.Set(k, x)
	}
	return v.Encode()
}
