// Package alipay is the Alipay open platform (支付宝开放平台) as a channel.Driver: QR code
// (alipay.trade.precreate), phone web (alipay.trade.wap.pay) and PC page pay
// (alipay.trade.page.pay), query, close, refund and refund query, the asynchronous
// notification, and the daily business statement. It speaks through
// github.com/smartwalle/alipay/v3 and adds what that library leaves to its caller: bounded
// reads, a certificate rotation that must chain to the configured root, yuan strings
// converted to fen without float, and answers mapped onto the channel model.
//
// A merchant is configured in one of Alipay's two key modes: public key (app private key +
// Alipay public key) or certificates (app private key + app public certificate + Alipay
// root certificate + Alipay public certificate). Which one is read from the fields given.
package alipay

import (
	"net/http"
	"time"

	"campuspay/app/channel"
)

// Name is the channel's code as stored on attempts.
const Name = "alipay"

// Field keys of a merchant's settings.
const (
	FieldAppID           = "app_id"
	FieldSellerID        = "seller_id"
	FieldPrivateKey      = "private_key"
	FieldAlipayPublicKey = "alipay_public_key"
	FieldAppCert         = "app_cert"
	FieldAlipayRootCert  = "alipay_root_cert"
	FieldAlipayCert      = "alipay_cert"
	FieldAppAuthToken    = "app_auth_token"
	FieldGateway         = "gateway"
)

// DefaultGateway is Alipay's production gateway.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

const (
	// maxAnswer bounds one gateway answer; Alipay's are a few kilobytes.
	maxAnswer = 1 << 20
	// maxNotification bounds a notification body; Alipay's are under 4 KiB.
	maxNotification = 64 << 10
	// maxStatementZip bounds the downloaded statement; maxStatementEntry what one entry may
	// decompress to. A university's busiest day is a few hundred thousand lines.
	maxStatementZip   = 32 << 20
	maxStatementEntry = 256 << 20
	defaultTimeout    = 15 * time.Second
)

// shanghai is Asia/Shanghai: Alipay's wire times and business days. China has kept +08:00
// without daylight saving since 1991; a fixed zone does not depend on the host's tzdata.
var shanghai = time.FixedZone("CST", 8*3600)

// Driver is the Alipay channel kind.
type Driver struct{}

var _ channel.Driver = Driver{}

func (Driver) Name() string { return Name }

func (Driver) Capabilities() channel.Capabilities {
	return channel.Capabilities{
		Label:         "支付宝",
		Ways:          []channel.Way{channel.WayAliQR, channel.WayAliWAP, channel.WayAliPC},
		Guests:        true,
		PartialRefund: true,
	}
}

func (Driver) Fields() []channel.Field {
	return []channel.Field{
		{Key: FieldAppID, Label: "应用 APPID",
			Help: "支付宝开放平台（open.alipay.com）→ 控制台 → 应用详情中的 APPID，16 位数字"},
		{Key: FieldSellerID, Label: "收款支付宝账号 PID", Optional: true,
			Help: "商家平台（b.alipay.com）→ 账号中心 → 主账号 PID，2088 开头 16 位数字；填写后平台会核对通知中的 seller_id"},
		{Key: FieldPrivateKey, Label: "应用私钥", Secret: true, Multiline: true,
			Help: "用支付宝开放平台密钥工具生成的 RSA2（2048 位）应用私钥，PEM 或一行 Base64 均可"},
		{Key: FieldAlipayPublicKey, Label: "支付宝公钥（公钥模式）", Multiline: true, Optional: true,
			Help: "公钥模式：开放平台 → 开发设置 → 接口加签方式 → 查看支付宝公钥；证书模式请留空"},
		{Key: FieldAppCert, Label: "应用公钥证书（证书模式）", Multiline: true, Optional: true,
			Help: "证书模式：开放平台下载的 appCertPublicKey_<APPID>.crt 全文"},
		{Key: FieldAlipayRootCert, Label: "支付宝根证书（证书模式）", Multiline: true, Optional: true,
			Help: "证书模式：开放平台下载的 alipayRootCert.crt 全文"},
		{Key: FieldAlipayCert, Label: "支付宝公钥证书（证书模式）", Multiline: true, Optional: true,
			Help: "证书模式：开放平台下载的 alipayCertPublicKey_RSA2.crt 全文"},
		{Key: FieldAppAuthToken, Label: "商家授权令牌 app_auth_token（特约商户）", Secret: true, Optional: true,
			Help: "仅服务商代特约商户收款时填写：特约商户授权本应用后得到的 app_auth_token"},
		{Key: FieldGateway, Label: "支付宝网关", Optional: true,
			Help: "留空即正式环境 " + DefaultGateway + "；仅测试时填写其他地址"},
	}
}

// Open validates cfg and returns a Provider for that merchant.
func (Driver) Open(cfg channel.MerchantConfig) (channel.Provider, error) {
	p, err := open(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *provider) now() time.Time {
	if p.cfg.Now != nil {
		return p.cfg.Now()
	}
	return time.Now()
}

// baseClient is the merchant's HTTP client, or a default with a timeout.
func baseClient(cfg channel.MerchantConfig) *http.Client {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	return &http.Client{Timeout: defaultTimeout}
}

// Identity is the app id and seller PID this merchant's notifications must carry.
func (p *provider) Identity() (appID, merchantNo string) { return p.set.appID, p.set.sellerID }

// FormOrigins: the phone and PC pages are the gateway's.
func (p *provider) FormOrigins() []string {
	return []string{p.set.gateway.Scheme + "://" + p.set.gateway.Host}
}
