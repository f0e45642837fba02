package wechatpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"campuspay/app/channel"
)

// Size limits on what is read from the network.
const (
	maxAnswerBytes       = 1 << 20  // an API answer
	maxBillDownloadBytes = 32 << 20 // the gzipped trade bill
	maxBillBytes         = 64 << 20 // the trade bill once gunzipped
	maxNoticeBytes       = 64 << 10 // a notification body
	clockSkew            = 5 * time.Minute
	certRefetchPerMinute = 5
)

// provider is WeChat Pay bound to one merchant.
type provider struct {
	c     config
	now   func() time.Time
	plain *http.Client // OAuth (another host), bounded answers
	api   *core.Client // signed requests, verified answers
	raw   *core.Client // signed requests, unverified answers (certificates, bill download)

	mu        sync.Mutex
	certs     map[string]*x509.Certificate // serial → platform certificate
	newest    string
	fetches   []time.Time // recent certificate downloads, for the rate limit
	lastFetch error
}

func newProvider(c config, mc channel.MerchantConfig) (*provider, error) {
	hc := mc.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	p := &provider{c: c, now: mc.Now, certs: map[string]*x509.Certificate{}}
	if p.now == nil {
		p.now = time.Now
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	plain := *hc
	plain.Transport = boundedTransport{next: next, limit: maxAnswerBytes}
	p.plain = &plain
	apiHTTP := *hc
	apiHTTP.Transport = rewriteTransport{base: c.base, next: next, limit: maxAnswerBytes}
	// The bill download is larger than any other answer.
	rawHTTP := *hc
	rawHTTP.Transport = rewriteTransport{base: c.base, next: next, limit: maxBillDownloadBytes}

	ctx := context.Background()
	var err error
	p.api, err = core.NewClient(ctx,
		option.WithMerchantCredential(c.signingMchID(), c.serial, c.key),
		option.WithHTTPClient(&apiHTTP),
		withValidator{&answerValidator{p: p}})
	if err != nil {
		return nil, fmt.Errorf("wechatpay: build client: %w", err)
	}
	p.raw, err = core.NewClient(ctx,
		option.WithMerchantCredential(c.signingMchID(), c.serial, c.key),
		option.WithHTTPClient(&rawHTTP),
		option.WithoutValidator())
	if err != nil {
		return nil, fmt.Errorf("wechatpay: build client: %w", err)
	}
	return p, nil
}

// withValidator installs our validator (the SDK's own checks timestamps with time.Now,
// not the merchant's clock).
type withValidator struct{ v *answerValidator }

func (w withValidator) Apply(s *core.DialSettings) error {
	s.Validator = w.v
	return nil
}

// rewriteTransport sends a request meant for WeChat's fixed API host to base instead:
// scheme and host are replaced and base's path is put in front of the request's path.
type rewriteTransport struct {
	base  *url.URL
	next  http.RoundTripper
	limit int64
}

func (t rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme = t.base.Scheme
	u.Host = t.base.Host
	u.Path = t.base.Path + req.URL.Path
	u.RawPath = ""
	r.URL = &u
	r.Host = ""
	return boundedTransport{next: t.next, limit: t.limit}.RoundTrip(r)
}

// boundedTransport refuses answers larger than limit.
type boundedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.limit}
	return resp, nil
}

var errTooLarge = errors.New("wechatpay: answer too large")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// answerValidator checks every answer of the signed client.
type answerValidator struct{ p *provider }

func (v *answerValidator) Validate(ctx context.Context, resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return &answerError{err: err}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.p.verify(ctx, resp.Header, body); err != nil {
		return &answerError{err: err}
	}
	return nil
}

func (v *answerValidator) GetAcceptSerial(ctx context.Context) (string, error) {
	if v.p.c.mode != ModePlatformCert {
		return v.p.c.pubKeyID, nil
	}
	v.p.mu.Lock()
	defer v.p.mu.Unlock()
	if v.p.newest == "" {
		return "", errors.New("no platform certificate yet")
	}
	return v.p.newest, nil
}

// answerError is an answer whose signature did not verify.
type answerError struct{ err error }

func (e *answerError) Error() string { return "answer not verified: " + e.err.Error() }
func (e *answerError) Unwrap() error { return e.err }

// verify checks Wechatpay-Timestamp/Nonce/Serial/Signature over ts\nnonce\nbody\n.
func (p *provider) verify(ctx context.Context, h http.Header, body []byte) error {
	tsText := strings.TrimSpace(h.Get(consts.WechatPayTimestamp))
	nonce := strings.TrimSpace(h.Get(consts.WechatPayNonce))
	serial := strings.TrimSpace(h.Get(consts.WechatPaySerial))
	sig := strings.TrimSpace(h.Get(consts.WechatPaySignature))
	if tsText == "" || nonce == "" || serial == "" || sig == "" {
		return fmt.Errorf("%w: Wechatpay-Timestamp/Nonce/Serial/Signature missing", channel.ErrBadSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: Wechatpay-Timestamp %q", channel.ErrBadSignature, tsText)
	}
	if d := p.now().Sub(time.Unix(ts, 0)); d > clockSkew || d < -clockSkew {
		return fmt.Errorf("%w: Wechatpay-Timestamp %d is more than 5 minutes off", channel.ErrBadSignature, ts)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", channel.ErrBadSignature)
	}
	key, err := p.keyFor(ctx, serial)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(tsText + "\n" + nonce + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
		return fmt.Errorf("%w: under %s", channel.ErrBadSignature, serial)
	}
	return nil
}

// keyFor is the verification key that Wechatpay-Serial names, if it is one in force.
func (p *provider) keyFor(ctx context.Context, serial string) (*rsa.PublicKey, error) {
	if p.c.mode != ModePlatformCert && serial == p.c.pubKeyID {
		return p.c.pubKey, nil
	}
	if p.c.mode == ModePublicKey {
		return nil, fmt.Errorf("%w: signed under %q, not the configured public key %s", channel.ErrBadSignature, serial, p.c.pubKeyID)
	}
	if cert := p.cert(serial); cert != nil {
		return cert.PublicKey.(*rsa.PublicKey), nil
	}
	// An unknown serial: WeChat may have rotated its certificate. Download the list again
	// (rate-limited: a forger can name any serial).
	if err := p.fetchCertificates(ctx); err != nil {
		return nil, err
	}
	if cert := p.cert(serial); cert != nil {
		return cert.PublicKey.(*rsa.PublicKey), nil
	}
	return nil, fmt.Errorf("%w: no platform certificate %q", channel.ErrBadSignature, serial)
}

func (p *provider) cert(serial string) *x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.certs[strings.ToUpper(serial)]
}

type certificatesAnswer struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EncryptCertificate struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// fetchCertificates downloads the platform certificates, decrypts them with the APIv3 key
// (which is what makes them trustworthy), and checks the answer's own signature against them.
func (p *provider) fetchCertificates(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	recent := p.fetches[:0]
	for _, t := range p.fetches {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	p.fetches = recent
	if len(p.fetches) >= certRefetchPerMinute {
		err := p.lastFetch
		p.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: unknown platform certificate serial (certificate list fetched too often)", channel.ErrBadSignature)
		}
		return err
	}
	p.fetches = append(p.fetches, now)
	p.mu.Unlock()

	err := p.downloadCertificates(ctx)
	p.mu.Lock()
	p.lastFetch = err
	p.mu.Unlock()
	return err
}

func (p *provider) downloadCertificates(ctx context.Context) error {
	res, err := p.raw.Get(ctx, consts.WechatPayAPIServer+"/v3/certificates")
	if err != nil {
		return p.fail("下载平台证书", err)
	}
	defer res.Response.Body.Close()
	body, err := io.ReadAll(res.Response.Body)
	if err != nil {
		return p.fail("下载平台证书", err)
	}
	var ans certificatesAnswer
	if err := json.Unmarshal(body, &ans); err != nil || len(ans.Data) == 0 {
		return fmt.Errorf("%w: 微信支付平台证书列表无法解析", channel.ErrUnavailable)
	}
	certs := map[string]*x509.Certificate{}
	var newest *x509.Certificate
	now := p.now()
	for _, d := range ans.Data {
		e := d.EncryptCertificate
		if e.Algorithm != "AEAD_AES_256_GCM" {
			return fmt.Errorf("%w: 平台证书加密算法 %q 不受支持", channel.ErrUnavailable, e.Algorithm)
		}
		pemText, err := utils.DecryptAES256GCM(p.c.apiv3Key, e.AssociatedData, e.Nonce, e.Ciphertext)
		if err != nil {
			return fmt.Errorf("%w: 平台证书无法用 APIv3 密钥解密，请核对商户配置中的 APIv3密钥（apiv3_key）", channel.ErrUnavailable)
		}
		cert, err := utils.LoadCertificate(pemText)
		if err != nil {
			return fmt.Errorf("%w: 平台证书无法解析", channel.ErrUnavailable)
		}
		serial := strings.ToUpper(cert.SerialNumber.Text(16))
		if serial != strings.ToUpper(d.SerialNo) {
			return fmt.Errorf("%w: 平台证书序列号 %s 与列表 %s 不符", channel.ErrUnavailable, serial, d.SerialNo)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok || now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
			continue
		}
		certs[serial] = cert
		if newest == nil || cert.NotBefore.After(newest.NotBefore) {
			newest = cert
		}
	}
	if newest == nil {
		return fmt.Errorf("%w: 微信支付未提供有效期内的平台证书", channel.ErrUnavailable)
	}
	// The list's own signature must verify under one of the certificates it brought.
	check := &provider{c: p.c, now: p.now, certs: certs}
	check.c.mode = ModePlatformCert
	check.fetches = make([]time.Time, certRefetchPerMinute) // never refetch from here
	for i := range check.fetches {
		check.fetches[i] = now
	}
	if err := check.verify(ctx, res.Response.Header, body); err != nil {
		return fmt.Errorf("%w: 平台证书列表的签名无法验证", channel.ErrUnavailable)
	}
	p.mu.Lock()
	p.certs = certs
	p.newest = strings.ToUpper(newest.SerialNumber.Text(16))
	p.mu.Unlock()
	return nil
}

// call sends a signed request and decodes the verified answer into out (nil: no body).
func (p *provider) call(ctx context.Context, op, method, path string, query url.Values, body, out any) error {
	res, err := p.api.Request(ctx, method, consts.WechatPayAPIServer+path, nil, query, body, "")
	if err != nil {
		return p.fail(op, err)
	}
	defer res.Response.Body.Close()
	if out == nil {
		return nil
	}
	data, err := io.ReadAll(res.Response.Body)
	if err != nil {
		return p.fail(op, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: 微信支付%s的应答无法解析（HTTP %d）", channel.ErrUnavailable, op, res.Response.StatusCode)
	}
	return nil
}

// APIError is WeChat refusing a request for a reason other than being unavailable.
type APIError struct {
	Op      string
	Status  int
	Code    string // e.g. ORDER_NOT_EXIST, ORDERPAID, PARAM_ERROR
	Message string // WeChat's words
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechatpay: 微信支付%s被拒绝（HTTP %d %s）：%s", e.Op, e.Status, e.Code, e.Message)
}

// fail turns an SDK error into one the platform can act on: ErrUnavailable for anything
// that says "try later or fix the connection", *APIError for WeChat's refusals.
func (p *provider) fail(op string, err error) error {
	var api *core.APIError
	if errors.As(err, &api) {
		switch {
		case api.StatusCode == http.StatusUnauthorized || api.Code == "SIGN_ERROR":
			return fmt.Errorf("%w: 微信支付%s：请求签名被拒绝（%s %s），请核对商户号、商户API证书序列号和商户API私钥是否一致",
				channel.ErrUnavailable, op, api.Code, api.Message)
		case api.StatusCode >= 500 || api.StatusCode == http.StatusTooManyRequests || api.Code == "" ||
			api.Code == "SYSTEM_ERROR" || api.Code == "FREQUENCY_LIMITED":
			return fmt.Errorf("%w: 微信支付%s暂时失败（HTTP %d %s），请稍后重试", channel.ErrUnavailable, op, api.StatusCode, api.Code)
		}
		return &APIError{Op: op, Status: api.StatusCode, Code: api.Code, Message: api.Message}
	}
	var ae *answerError
	if errors.As(err, &ae) {
		if errors.Is(err, channel.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%w: 微信支付%s的应答签名无法验证（%v），请核对验签方式、微信支付公钥或 APIv3密钥", channel.ErrUnavailable, op, ae.err)
	}
	if errors.Is(err, channel.ErrUnavailable) {
		return err
	}
	if errors.Is(err, errTooLarge) {
		return fmt.Errorf("%w: 微信支付%s的应答超过大小上限", channel.ErrUnavailable, op)
	}
	return fmt.Errorf("%w: 无法连接微信支付接口 %s 进行%s（%v），请检查服务器网络和接口地址设置", channel.ErrUnavailable, p.c.base.Host, op, err)
}
