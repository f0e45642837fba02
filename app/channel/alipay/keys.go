package alipay

import (
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// FieldError says which merchant setting is wrong, in words finance can act on.
type FieldError struct {
	Field   string // the Field key, e.g. "private_key"
	Message string // Simplified Chinese, shown beside the field
}

func (e *FieldError) Error() string { return "alipay: " + e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	appIDPattern    = regexp.MustCompile(`^[0-9]{8,32}$`)
	sellerIDPattern = regexp.MustCompile(`^2088[0-9]{12}$`)
	tokenPattern    = regexp.MustCompile(`^[0-9A-Za-z._-]{1,128}$`)
)

// keyMode is how Alipay's answers and notifications are verified.
type keyMode int

const (
	modePublicKey keyMode = iota
	modeCert
)

// settings is a merchant's configuration, parsed and checked.
type settings struct {
	appID        string
	sellerID     string
	appAuthToken string
	gateway      *url.URL
	privateKey   *rsa.PrivateKey
	mode         keyMode

	alipayPublicKey *rsa.PublicKey // public-key mode

	appCert    *x509.Certificate // certificate mode
	roots      []*x509.Certificate
	rootsPEM   string
	alipayCert *x509.Certificate
}

// parseSettings checks every field of a merchant's configuration; the first fault is
// returned as a *FieldError.
func parseSettings(values map[string]string, now time.Time) (*settings, error) {
	v := func(k string) string { return strings.TrimSpace(values[k]) }
	s := &settings{appID: v(FieldAppID), sellerID: v(FieldSellerID), appAuthToken: v(FieldAppAuthToken)}

	if s.appID == "" {
		return nil, fieldErr(FieldAppID, "请填写应用 APPID")
	}
	if !appIDPattern.MatchString(s.appID) {
		return nil, fieldErr(FieldAppID, "APPID 应为开放平台显示的一串数字，如 2021004100000000")
	}
	if s.sellerID != "" && !sellerIDPattern.MatchString(s.sellerID) {
		return nil, fieldErr(FieldSellerID, "PID 应为 2088 开头的 16 位数字")
	}
	if s.appAuthToken != "" && !tokenPattern.MatchString(s.appAuthToken) {
		return nil, fieldErr(FieldAppAuthToken, "app_auth_token 只应包含字母、数字、点、下划线和短横线")
	}
	gw, err := parseGateway(v(FieldGateway))
	if err != nil {
		return nil, err
	}
	s.gateway = gw

	if v(FieldPrivateKey) == "" {
		return nil, fieldErr(FieldPrivateKey, "请填写应用私钥")
	}
	s.privateKey, err = parsePrivateKey(v(FieldPrivateKey))
	if err != nil {
		return nil, fieldErr(FieldPrivateKey, "应用私钥无法解析（%v）：请粘贴密钥工具生成的 RSA2 私钥全文", err)
	}
	if s.privateKey.N.BitLen() < 2048 {
		return nil, fieldErr(FieldPrivateKey, "应用私钥只有 %d 位，支付宝 RSA2 要求 2048 位", s.privateKey.N.BitLen())
	}

	certMode := v(FieldAppCert) != "" || v(FieldAlipayRootCert) != "" || v(FieldAlipayCert) != ""
	switch {
	case certMode && v(FieldAlipayPublicKey) != "":
		return nil, fieldErr(FieldAlipayPublicKey, "公钥模式与证书模式只能选一种：使用证书模式时请清空支付宝公钥")
	case !certMode && v(FieldAlipayPublicKey) == "":
		return nil, fieldErr(FieldAlipayPublicKey, "请填写支付宝公钥（公钥模式），或填写三张证书（证书模式）")
	case !certMode:
		s.mode = modePublicKey
		s.alipayPublicKey, err = parsePublicKey(v(FieldAlipayPublicKey))
		if err != nil {
			return nil, fieldErr(FieldAlipayPublicKey, "支付宝公钥无法解析（%v）：请从开放平台复制“支付宝公钥”，不是应用公钥", err)
		}
		if s.alipayPublicKey.Equal(&s.privateKey.PublicKey) {
			return nil, fieldErr(FieldAlipayPublicKey, "这里填的是应用公钥：请填写开放平台上的“支付宝公钥”")
		}
		return s, nil
	}

	s.mode = modeCert
	for _, k := range []string{FieldAppCert, FieldAlipayRootCert, FieldAlipayCert} {
		if v(k) == "" {
			return nil, fieldErr(k, "证书模式需要应用公钥证书、支付宝根证书和支付宝公钥证书三张证书，这一项为空")
		}
	}
	if s.roots, err = parseCerts(v(FieldAlipayRootCert)); err != nil {
		return nil, fieldErr(FieldAlipayRootCert, "支付宝根证书无法解析（%v）：请粘贴 alipayRootCert.crt 全文", err)
	}
	s.rootsPEM = v(FieldAlipayRootCert)
	if s.appCert, err = parseCert(v(FieldAppCert)); err != nil {
		return nil, fieldErr(FieldAppCert, "应用公钥证书无法解析（%v）：请粘贴 appCertPublicKey_<APPID>.crt 全文", err)
	}
	if pub, ok := s.appCert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&s.privateKey.PublicKey) {
		return nil, fieldErr(FieldAppCert, "应用公钥证书与应用私钥不匹配：证书须由这把私钥生成的 CSR 申请")
	}
	if err := s.checkChain(s.appCert, now); err != nil {
		return nil, fieldErr(FieldAppCert, "应用公钥证书%v", err)
	}
	if s.alipayCert, err = parseCert(v(FieldAlipayCert)); err != nil {
		return nil, fieldErr(FieldAlipayCert, "支付宝公钥证书无法解析（%v）：请粘贴 alipayCertPublicKey_RSA2.crt 全文", err)
	}
	if _, ok := s.alipayCert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fieldErr(FieldAlipayCert, "支付宝公钥证书不是 RSA 证书：请下载 RSA2 的支付宝公钥证书")
	}
	if err := s.checkChain(s.alipayCert, now); err != nil {
		return nil, fieldErr(FieldAlipayCert, "支付宝公钥证书%v", err)
	}
	return s, nil
}

// checkChain verifies that cert is valid at now and chains to the configured Alipay root
// certificates. Its error reads after the certificate's name.
func (s *settings) checkChain(cert *x509.Certificate, now time.Time) error {
	if now.After(cert.NotAfter) {
		return fmt.Errorf("已于 %s 过期，请在开放平台重新下载", cert.NotAfter.In(shanghai).Format("2006-01-02"))
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("要到 %s 才生效，请检查服务器时间", cert.NotBefore.In(shanghai).Format("2006-01-02 15:04"))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range s.roots {
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("不能由所填支付宝根证书验证（%v）：三张证书须来自同一应用、同一次下载", err)
	}
	return nil
}

// parseGateway reads the gateway setting: empty is Alipay's production gateway; anything
// else must be an absolute https URL, or http only to this machine (a test fake).
func parseGateway(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultGateway
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fieldErr(FieldGateway, "网关地址应是完整的网址，如 %s，不带查询参数", DefaultGateway)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fieldErr(FieldGateway, "网关必须使用 https（只有本机测试地址可以用 http）")
		}
	default:
		return nil, fieldErr(FieldGateway, "网关地址必须以 https:// 开头")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// der returns the DER bytes of a PEM block of one of the given types, or of a bare base64
// string (Alipay's key tool writes keys as one line of base64 without PEM armour).
func der(s string, types ...string) ([]byte, error) {
	if strings.Contains(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("PEM 格式不完整")
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, errors.New("PEM 之后还有多余内容")
		}
		for _, t := range types {
			if block.Type == t {
				return block.Bytes, nil
			}
		}
		return nil, fmt.Errorf("PEM 类型为 %s，应为 %s", block.Type, strings.Join(types, " 或 "))
	}
	compact := strings.Join(strings.Fields(s), "")
	b, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, errors.New("既不是 PEM 也不是 Base64")
	}
	return b, nil
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	b, err := der(s, "RSA PRIVATE KEY", "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, errors.New("不是 PKCS#1 或 PKCS#8 格式的私钥")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("不是 RSA 私钥")
	}
	return rk, nil
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	b, err := der(s, "PUBLIC KEY", "RSA PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(b); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("不是 RSA 公钥")
	}
	if k, err := x509.ParsePKCS1PublicKey(b); err == nil {
		return k, nil
	}
	return nil, errors.New("不是公钥")
}

// parseCerts reads every certificate of a PEM bundle (Alipay's root file holds several).
func parseCerts(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM 类型为 %s，应为 CERTIFICATE", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("证书内容损坏")
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("没有找到 -----BEGIN CERTIFICATE----- 段")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("证书之后还有多余内容")
	}
	return out, nil
}

func parseCert(s string) (*x509.Certificate, error) {
	cs, err := parseCerts(s)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("应只有一张证书，这里有 %d 张", len(cs))
	}
	return cs[0], nil
}

// certSN is Alipay's serial for a certificate: the MD5 of its issuer's distinguished name
// followed by its decimal serial number, as app_cert_sn and alipay_cert_sn carry it.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func publicKeyPEM(k *rsa.PublicKey) (string, error) {
	b, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: b})), nil
}
