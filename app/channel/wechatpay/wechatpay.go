// Package wechatpay is the WeChat Pay API v3 adapter (微信支付) on the per-merchant channel
// model: Native QR, JSAPI inside WeChat and H5 in other phone browsers; query, close,
// refunds and their queries; signed and encrypted notifications; the daily trade bill.
//
// Requests are signed and sent by the official SDK (github.com/wechatpay-apiv3/wechatpay-go).
// Its API host is a constant, so the adapter hands it an http.Client whose transport sends
// every request to the configured api_base instead (only path and query are signed, so this
// changes nothing that WeChat checks). Answers and notifications are verified here, with the
// merchant's clock, against the key in force: the platform certificates (fetched from
// /v3/certificates, decrypted with the APIv3 key, cached and refetched when WeChat answers
// under a serial we do not know), the WeChat Pay public key (PUB_KEY_ID_…), or both during
// the transition from one to the other.
//
// The adapter reports what a message says; the billing core checks the merchant, app id,
// order and amount against its own rows.
package wechatpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"campuspay/app/channel"
)

// Name is the channel's code as stored on attempts.
const Name = "wechatpay"

// DefaultAPIBase is WeChat Pay's API host.
const DefaultAPIBase = "https://api.mch.weixin.qq.com"

// The keys of the merchant settings.
const (
	FieldMchID      = "mchid"
	FieldAppID      = "appid"
	FieldCertSerial = "cert_serial"
	FieldPrivateKey = "private_key"
	FieldAPIv3Key   = "apiv3_key"
	FieldVerifyMode = "verify_mode"
	FieldPubKeyID   = "public_key_id"
	FieldPublicKey  = "public_key"
	FieldAppSecret  = "app_secret"
	FieldSpMchID    = "sp_mchid"
	FieldSpAppID    = "sp_appid"
	FieldSubMchID   = "sub_mchid"
	FieldSubAppID   = "sub_appid"
	FieldAPIBase    = "api_base"
)

// Verification modes (FieldVerifyMode).
const (
	ModePlatformCert = "platform_cert"
	ModePublicKey    = "public_key"
	ModeTransition   = "transition"
)

// shanghai is Asia/Shanghai; China has kept +08:00 without daylight saving since 1991, and a
// fixed zone does not depend on the host's tzdata.
var shanghai = time.FixedZone("CST", 8*3600)

var (
	mchIDPattern    = regexp.MustCompile(`^[0-9]{6,16}$`)
	appIDPattern    = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)
	serialPattern   = regexp.MustCompile(`^[0-9A-Fa-f]{8,64}$`)
	pubKeyIDPattern = regexp.MustCompile(`^PUB_KEY_ID_[0-9A-Za-z]{4,64}$`)
)

// Driver is the WeChat Pay channel.
type Driver struct{}

// New returns the WeChat Pay driver.
func New() Driver { return Driver{} }

func (Driver) Name() string { return Name }

func (Driver) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Label:         "微信支付",
		Ways:          []channel.Way{channel.WayWxNative, channel.WayWxJSAPI, channel.WayWxH5},
		Guests:        true,
		PartialRefund: true,
	}
}

func (Driver) Fields() []channel.Field {
	return []channel.Field{
		{Key: FieldMchID, Label: "商户号", Optional: true,
			Help: "微信支付商户平台「账户中心 › 商户信息」中的商户号（纯数字）。服务商模式下留空，改填服务商商户号和特约商户号。"},
		{Key: FieldAppID, Label: "公众号 AppID", Optional: true,
			Help: "与商户号绑定的公众号（服务号）AppID，以 wx 开头；在微信公众平台「设置与开发 › 基本配置」中查看。服务商模式下留空。"},
		{Key: FieldCertSerial, Label: "商户API证书序列号",
			Help: "商户平台「账户中心 › API安全 › 商户API证书」中显示的证书序列号（十六进制）。"},
		{Key: FieldPrivateKey, Label: "商户API私钥", Secret: true, Multiline: true,
			Help: "申请商户API证书时生成的 apiclient_key.pem 的全部内容，含 -----BEGIN PRIVATE KEY----- 首尾行。"},
		{Key: FieldAPIv3Key, Label: "APIv3密钥", Secret: true,
			Help: "商户平台「API安全 › 设置APIv3密钥」中设置的 32 个字符的密钥。"},
		{Key: FieldVerifyMode, Label: "验签方式",
			Help: "platform_cert：平台证书（自动下载）；public_key：微信支付公钥；transition：从平台证书切换到公钥的过渡期，两者都接受。2024 年以后开户的商户一般使用 public_key。"},
		{Key: FieldPubKeyID, Label: "微信支付公钥ID", Optional: true,
			Help: "商户平台「API安全 › 微信支付公钥」中显示的公钥ID，形如 PUB_KEY_ID_0112…；验签方式为 public_key 或 transition 时必填。"},
		{Key: FieldPublicKey, Label: "微信支付公钥", Multiline: true, Optional: true,
			Help: "从同一页面下载的 pub_key.pem 的全部内容；验签方式为 public_key 或 transition 时必填。"},
		{Key: FieldAppSecret, Label: "公众号 AppSecret", Secret: true, Optional: true,
			Help: "公众平台「基本配置」中的开发者密码，用于在微信内获取付款人 openid（JSAPI 支付）。不用 JSAPI 可留空。"},
		{Key: FieldSpMchID, Label: "服务商商户号", Optional: true,
			Help: "服务商模式：学校服务商的商户号；此时商户API证书、私钥和 APIv3 密钥都填服务商的。"},
		{Key: FieldSpAppID, Label: "服务商公众号 AppID", Optional: true,
			Help: "服务商模式：服务商的公众号 AppID。"},
		{Key: FieldSubMchID, Label: "特约商户号", Optional: true,
			Help: "服务商模式：本院系（特约商户）的商户号。"},
		{Key: FieldSubAppID, Label: "特约商户公众号 AppID", Optional: true,
			Help: "服务商模式：特约商户自己的公众号 AppID（付款人的 openid 属于它时填写），否则留空。"},
		{Key: FieldAPIBase, Label: "接口地址", Optional: true,
			Help: "留空即使用微信支付正式接口 https://api.mch.weixin.qq.com；仅演示和测试时填写模拟器地址。"},
	}
}

// config is a merchant's settings, checked.
type config struct {
	mchID, appID       string // direct merchant
	spMchID, spAppID   string // service provider (partner mode)
	subMchID, subAppID string
	partner            bool
	serial             string
	key                *rsa.PrivateKey
	apiv3Key           string
	mode               string
	pubKeyID           string
	pubKey             *rsa.PublicKey
	appSecret          string
	base               *url.URL
}

// fieldError names the field at fault, in words finance can act on.
func fieldError(key, label, problem string) error {
	return fmt.Errorf("wechatpay: %s（%s）%s", label, key, problem)
}

func parseConfig(values map[string]string) (config, error) {
	v := func(k string) string { return strings.TrimSpace(values[k]) }
	c := config{
		mchID: v(FieldMchID), appID: v(FieldAppID),
		spMchID: v(FieldSpMchID), spAppID: v(FieldSpAppID),
		subMchID: v(FieldSubMchID), subAppID: v(FieldSubAppID),
		serial:    strings.ToUpper(v(FieldCertSerial)),
		apiv3Key:  v(FieldAPIv3Key),
		mode:      v(FieldVerifyMode),
		pubKeyID:  v(FieldPubKeyID),
		appSecret: v(FieldAppSecret),
	}
	c.partner = c.spMchID != "" || c.subMchID != "" || c.spAppID != ""
	if c.partner {
		if c.mchID != "" || c.appID != "" {
			return c, fieldError(FieldMchID, "商户号", "与服务商字段不能同时填写：直连商户填商户号和公众号 AppID，服务商模式填服务商商户号、服务商公众号 AppID 和特约商户号")
		}
		if !mchIDPattern.MatchString(c.spMchID) {
			return c, fieldError(FieldSpMchID, "服务商商户号", "应为商户平台中的纯数字商户号")
		}
		if !appIDPattern.MatchString(c.spAppID) {
			return c, fieldError(FieldSpAppID, "服务商公众号 AppID", "应为 wx 开头的 18 位 AppID")
		}
		if !mchIDPattern.MatchString(c.subMchID) {
			return c, fieldError(FieldSubMchID, "特约商户号", "应为纯数字商户号")
		}
		if c.subAppID != "" && !appIDPattern.MatchString(c.subAppID) {
			return c, fieldError(FieldSubAppID, "特约商户公众号 AppID", "应为 wx 开头的 18 位 AppID，或留空")
		}
	} else {
		if !mchIDPattern.MatchString(c.mchID) {
			return c, fieldError(FieldMchID, "商户号", "应为商户平台中的纯数字商户号")
		}
		if !appIDPattern.MatchString(c.appID) {
			return c, fieldError(FieldAppID, "公众号 AppID", "应为 wx 开头的 18 位 AppID")
		}
	}
	if !serialPattern.MatchString(c.serial) {
		return c, fieldError(FieldCertSerial, "商户API证书序列号", "应为商户平台显示的十六进制序列号")
	}
	key, err := parsePrivateKey(values[FieldPrivateKey])
	if err != nil {
		return c, fieldError(FieldPrivateKey, "商户API私钥", "无法解析："+err.Error()+"。请粘贴 apiclient_key.pem 的全部内容")
	}
	c.key = key
	if len(c.apiv3Key) != 32 {
		return c, fieldError(FieldAPIv3Key, "APIv3密钥", fmt.Sprintf("应为 32 个字符，现为 %d 个", len(c.apiv3Key)))
	}
	switch c.mode {
	case ModePlatformCert:
	case ModePublicKey, ModeTransition:
		if !pubKeyIDPattern.MatchString(c.pubKeyID) {
			return c, fieldError(FieldPubKeyID, "微信支付公钥ID", "应形如 PUB_KEY_ID_0112…（验签方式为 public_key 或 transition 时必填）")
		}
		pub, err := parsePublicKey(values[FieldPublicKey])
		if err != nil {
			return c, fieldError(FieldPublicKey, "微信支付公钥", "无法解析："+err.Error()+"。请粘贴 pub_key.pem 的全部内容")
		}
		c.pubKey = pub
	case "":
		return c, fieldError(FieldVerifyMode, "验签方式", "未填写：应为 platform_cert、public_key 或 transition")
	default:
		return c, fieldError(FieldVerifyMode, "验签方式", "应为 platform_cert、public_key 或 transition")
	}
	base := v(FieldAPIBase)
	if base == "" {
		base = DefaultAPIBase
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return c, fieldError(FieldAPIBase, "接口地址", "应为 https://主机名[/路径] 形式的地址，或留空使用正式接口")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return c, fieldError(FieldAPIBase, "接口地址", "只能使用 https（本机模拟器除外）")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.base = u
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("不是 PEM 格式")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM 类型为 %q，应为 PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, errors.New("私钥内容损坏")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("不是 RSA 私钥")
	}
	if rk.N.BitLen() < 2048 {
		return nil, errors.New("RSA 私钥不足 2048 位")
	}
	return rk, nil
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("不是 PEM 格式")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM 类型为 %q，应为 PUBLIC KEY", block.Type)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("公钥内容损坏")
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("不是 RSA 公钥")
	}
	if rk.N.BitLen() < 2048 {
		return nil, errors.New("RSA 公钥不足 2048 位")
	}
	return rk, nil
}

// Open validates cfg and returns a Provider bound to that merchant. It makes no request:
// platform certificates are fetched on first use.
func (Driver) Open(mc channel.MerchantConfig) (channel.Provider, error) {
	c, err := parseConfig(mc.Values)
	if err != nil {
		return nil, err
	}
	return newProvider(c, mc)
}

// payMchID is the merchant number that signs requests (the service provider in partner mode).
func (c config) signingMchID() string {
	if c.partner {
		return c.spMchID
	}
	return c.mchID
}

// payerAppID is the official account whose openid the payer has and whose app id the JSAPI
// sheet is called with.
func (c config) payerAppID() string {
	switch {
	case !c.partner:
		return c.appID
	case c.subAppID != "":
		return c.subAppID
	default:
		return c.spAppID
	}
}

// collectingMchID is the merchant the money goes to: what a message's merchant number must be.
func (c config) collectingMchID() string {
	if c.partner {
		return c.subMchID
	}
	return c.mchID
}

var _ channel.Driver = Driver{}

// defaultHTTPClient is used when MerchantConfig.HTTPClient is nil.
var defaultHTTPClient = &http.Client{Timeout: 20 * time.Second}

// Identity is the app id and merchant number this merchant's messages must carry: in
// partner mode the sub-merchant's (a message names the sub app id only when there is one).
func (p *provider) Identity() (appID, merchantNo string) {
	if p.c.partner {
		return p.c.subAppID, p.c.subMchID
	}
	return p.c.appID, p.c.mchID
}

// FormOrigins: H5's h5_url is on WeChat Pay's cashier host (the fake's own, in the demo).
func (p *provider) FormOrigins() []string {
	if p.custom() {
		return []string{p.c.base.Scheme + "://" + p.c.base.Host}
	}
	return []string{"https://wx.tenpay.com"}
}
