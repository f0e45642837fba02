// Package unionpay is the platform's adapter for UnionPay online payment (银联全渠道,
// interface version 5.1.0, signMethod 01: SHA-256 with RSA and certificates). No kept Go
// library exists, so the wire format is written here with the standard library; the
// merchant's signing key comes from the PKCS#12 file UnionPay issues.
//
// The gateway is reached at four addresses derived from one configured base URL:
//
//	<gateway>/gateway/api/frontTransReq.do  the form the payer's browser posts (UP_PC, UP_WAP)
//	<gateway>/gateway/api/backTransReq.do   refund (txnType 04) and same-day revoke (31)
//	<gateway>/gateway/api/queryTrans.do     query of a consume, refund or revoke
//	file transfer (txnType 76)              https://filedownload.95516.com/ for the production
//	                                        gateway, filedownload.test.95516.com for the test
//	                                        gateway, <gateway>/filedownload/ for anything else
//	                                        (a fake or a proxy); the optional file_url overrides
//
// Every answer and notification UnionPay signs carries its signing certificate
// (signPubKeyCert). It is believed only when it chains to the configured middle and root
// certificates and its subject CN names UnionPay (the third '@'-separated field); a
// certificate from any other chain is refused.
//
// PKCS#12 is read with software.sslmate.com/src/go-pkcs12 rather than x/crypto/pkcs12:
// the latter is frozen, cannot read files encrypted with PBES2/AES (what current OpenSSL
// and Windows export by default), refuses files that also carry the issuing chain, and
// cannot write one (the fake issues the merchant's file at run time).
package unionpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"campuspay/app/channel"

	"software.sslmate.com/src/go-pkcs12"
)

// Name is the channel's code as stored on attempts.
const Name = "unionpay"

// DefaultOrg is the organisation UnionPay's signing certificates name in their CN.
const DefaultOrg = "中国银联股份有限公司"

// Field keys of a UnionPay merchant.
const (
	FieldMerID      = "mer_id"
	FieldSignPFX    = "sign_cert_pfx"
	FieldSignPass   = "sign_cert_password"
	FieldRootCert   = "root_cert"
	FieldMiddleCert = "middle_cert"
	FieldGatewayURL = "gateway_url"
	FieldFileURL    = "file_url"
	FieldCertOrg    = "cert_org"
)

const (
	version       = "5.1.0"
	encoding      = "UTF-8"
	signMethodRSA = "01"
	clientTimeout = 15 * time.Second

	maxAnswer       = 64 << 10  // an answer or notification is a few KiB
	maxFileAnswer   = 48 << 20  // a file transfer answer: base64 of the compressed zip
	maxInflated     = 64 << 20  // the zip once the answer's deflate is undone
	maxEntry        = 256 << 20 // the day's transaction file inside the zip
	maxAnswerFields = 200
)

// beijing is Asia/Shanghai: UnionPay's wire times and business days. China has kept +08:00
// without daylight saving since 1991; a fixed zone needs no tzdata on the host.
var beijing = time.FixedZone("CST", 8*3600)

var (
	merIDPattern   = regexp.MustCompile(`^[0-9A-Za-z]{15}$`)
	orderIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{8,40}$`)
)

// Driver is UnionPay online payment; it implements channel.Driver.
type Driver struct{}

var _ channel.Driver = Driver{}

func (Driver) Name() string { return Name }

func (Driver) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Label:         "银联在线支付",
		Ways:          []channel.Way{channel.WayUpPC, channel.WayUpWAP},
		Guests:        true,
		PartialRefund: true,
	}
}

func (Driver) Fields() []channel.Field {
	return []channel.Field{
		{Key: FieldMerID, Label: "商户号", Help: "银联商户服务平台上的 15 位商户代码（merId）"},
		{Key: FieldSignPFX, Label: "签名证书（PKCS#12，base64）", Secret: true, Multiline: true,
			Help: "从银联商户服务平台下载的签名证书 .pfx 文件，以 base64 文本粘贴（如 base64 -w0 acp_sign.pfx）"},
		{Key: FieldSignPass, Label: "签名证书密码", Secret: true, Help: "下载签名证书时设置的密码"},
		{Key: FieldRootCert, Label: "银联根证书", Multiline: true, Help: "银联提供的根证书 acp_prod_root.cer（PEM 文本）"},
		{Key: FieldMiddleCert, Label: "银联中级证书", Multiline: true, Help: "银联提供的中级证书 acp_prod_middle.cer（PEM 文本）"},
		{Key: FieldGatewayURL, Label: "银联网关地址", Help: "生产环境 https://gateway.95516.com，测试环境 https://gateway.test.95516.com"},
		{Key: FieldFileURL, Label: "文件传输地址", Optional: true, Help: "一般留空，按网关地址自动确定（生产环境 https://filedownload.95516.com/）"},
		{Key: FieldCertOrg, Label: "证书单位名称", Optional: true, Help: "银联签名证书 CN 中的单位名称，留空即" + DefaultOrg},
	}
}

// FieldError says which merchant setting is wrong, in words finance can act on.
type FieldError struct {
	Field   string // Field.Key
	Label   string // Field.Label
	Message string // Simplified Chinese
}

func (e *FieldError) Error() string {
	return "unionpay: " + e.Field + " (" + e.Label + "): " + e.Message
}

func fieldError(key, msg string) *FieldError {
	for _, f := range (Driver{}).Fields() {
		if f.Key == key {
			return &FieldError{Field: key, Label: f.Label, Message: msg}
		}
	}
	return &FieldError{Field: key, Label: key, Message: msg}
}

// provider is one UnionPay merchant; it implements channel.Provider.
type provider struct {
	merID    string
	key      *rsa.PrivateKey
	certID   string // the signing certificate's serial in decimal
	root     *x509.Certificate
	middle   *x509.Certificate
	org      string
	frontURL string
	backURL  string
	queryURL string
	fileURL  string
	client   *http.Client
	now      func() time.Time
}

var _ channel.Provider = (*provider)(nil)

// Open checks every setting and returns a Provider for the merchant: the PKCS#12 file opens
// with its password and holds an RSA key matching its certificate, the certificates parse,
// are in force, and the middle certificate is signed by the root.
func (Driver) Open(cfg channel.MerchantConfig) (channel.Provider, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	at := now()
	v := func(k string) string { return strings.TrimSpace(cfg.Values[k]) }
	p := &provider{now: now, client: cfg.HTTPClient}
	if p.client == nil {
		p.client = &http.Client{Timeout: clientTimeout}
	}

	p.merID = v(FieldMerID)
	if !merIDPattern.MatchString(p.merID) {
		return nil, fieldError(FieldMerID, "商户号应为 15 位数字或字母")
	}

	if v(FieldSignPFX) == "" {
		return nil, fieldError(FieldSignPFX, "请粘贴签名证书（base64）")
	}
	pfx, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v(FieldSignPFX)), ""))
	if err != nil {
		return nil, fieldError(FieldSignPFX, "不是合法的 base64 文本，请重新导出签名证书")
	}
	key, cert, _, err := pkcs12.DecodeChain(pfx, cfg.Values[FieldSignPass])
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fieldError(FieldSignPass, "密码不正确，无法打开签名证书")
		}
		return nil, fieldError(FieldSignPFX, "无法读取签名证书（PKCS#12）："+err.Error())
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fieldError(FieldSignPFX, "签名证书中的私钥不是 RSA 私钥")
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&rsaKey.PublicKey) {
		return nil, fieldError(FieldSignPFX, "签名证书中的私钥与证书不匹配")
	}
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		return nil, fieldError(FieldSignPFX, "签名证书不在有效期内（"+validity(cert)+"），请在银联商户服务平台重新下载")
	}
	p.key, p.certID = rsaKey, cert.SerialNumber.String()

	if p.root, err = parseCert(v(FieldRootCert)); err != nil {
		return nil, fieldError(FieldRootCert, err.Error())
	}
	if p.middle, err = parseCert(v(FieldMiddleCert)); err != nil {
		return nil, fieldError(FieldMiddleCert, err.Error())
	}
	if at.Before(p.root.NotBefore) || at.After(p.root.NotAfter) {
		return nil, fieldError(FieldRootCert, "根证书不在有效期内（"+validity(p.root)+"）")
	}
	if at.Before(p.middle.NotBefore) || at.After(p.middle.NotAfter) {
		return nil, fieldError(FieldMiddleCert, "中级证书不在有效期内（"+validity(p.middle)+"）")
	}
	if err := checkSignedBy(p.root, p.root); err != nil {
		return nil, fieldError(FieldRootCert, "不是自签名的根证书："+err.Error())
	}
	if err := checkSignedBy(p.middle, p.root); err != nil {
		return nil, fieldError(FieldMiddleCert, "中级证书不是由所填根证书签发的："+err.Error())
	}

	p.org = v(FieldCertOrg)
	if p.org == "" {
		p.org = DefaultOrg
	}

	gw, err := parseBaseURL(v(FieldGatewayURL))
	if err != nil {
		return nil, fieldError(FieldGatewayURL, err.Error())
	}
	p.frontURL = gw.JoinPath("gateway/api/frontTransReq.do").String()
	p.backURL = gw.JoinPath("gateway/api/backTransReq.do").String()
	p.queryURL = gw.JoinPath("gateway/api/queryTrans.do").String()
	if f := v(FieldFileURL); f != "" {
		fu, err := parseBaseURL(f)
		if err != nil {
			return nil, fieldError(FieldFileURL, err.Error())
		}
		p.fileURL = fu.String()
	} else {
		p.fileURL = fileURLFor(gw).String()
	}
	return p, nil
}

// parseBaseURL accepts an absolute http(s) URL without credentials, query or fragment.
func parseBaseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("请填写地址")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("不是合法的 http(s) 地址")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("地址中不能含用户名、查询参数或锚点")
	}
	return u, nil
}

// fileURLFor derives the file transfer address from the gateway's.
func fileURLFor(gw *url.URL) *url.URL {
	switch strings.ToLower(gw.Hostname()) {
	case "gateway.95516.com":
		return &url.URL{Scheme: "https", Host: "filedownload.95516.com", Path: "/"}
	case "gateway.test.95516.com":
		return &url.URL{Scheme: "https", Host: "filedownload.test.95516.com", Path: "/"}
	}
	return gw.JoinPath("filedownload/")
}

// parseCert reads one PEM (or bare base64 DER) certificate.
func parseCert(s string) (*x509.Certificate, error) {
	if s == "" {
		return nil, fmt.Errorf("请粘贴证书（PEM 文本）")
	}
	der := []byte(nil)
	if b, _ := pem.Decode([]byte(s)); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM 类型为 %s，应为 CERTIFICATE", b.Type)
		}
		der = b.Bytes
	} else if d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err == nil {
		der = d
	} else {
		return nil, fmt.Errorf("不是 PEM 格式的证书")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("证书无法解析：%v", err)
	}
	return c, nil
}

func validity(c *x509.Certificate) string {
	return c.NotBefore.In(beijing).Format("2006-01-02") + " 至 " + c.NotAfter.In(beijing).Format("2006-01-02")
}

// wireTime is UnionPay's yyyyMMddHHmmss in Beijing time.
func wireTime(t time.Time) string { return t.In(beijing).Format("20060102150405") }

func parseWireTime(s string) (time.Time, error) {
	return time.ParseInLocation("20060102150405", s, beijing)
}

// BusinessDay is the UnionPay clearing day a moment belongs to: the day ends at 23:00
// Beijing time, so 23:30 on the 4th belongs to the 5th. The result is midnight (Beijing)
// of that day.
func BusinessDay(t time.Time) time.Time {
	b := t.In(beijing).Add(time.Hour)
	return time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, beijing)
}

// Identity is the merchant code this merchant's notifications must carry (UnionPay has no
// app id).
func (p *provider) Identity() (appID, merchantNo string) { return "", p.merID }

// FormOrigins: the front transaction's form is posted to the gateway.
func (p *provider) FormOrigins() []string {
	if u, err := url.Parse(p.frontURL); err == nil {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}
