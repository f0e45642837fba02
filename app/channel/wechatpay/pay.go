package wechatpay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"campuspay/app/channel"
)

var (
	attemptNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)
	refundNoPattern  = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
)

const maxDescriptionBytes = 127

type amountJSON struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

type payBody struct {
	AppID       string     `json:"appid,omitempty"`
	MchID       string     `json:"mchid,omitempty"`
	SpAppID     string     `json:"sp_appid,omitempty"`
	SpMchID     string     `json:"sp_mchid,omitempty"`
	SubAppID    string     `json:"sub_appid,omitempty"`
	SubMchID    string     `json:"sub_mchid,omitempty"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  string     `json:"time_expire,omitempty"`
	NotifyURL   string     `json:"notify_url"`
	Amount      amountJSON `json:"amount"`
	Payer       *payerJSON `json:"payer,omitempty"`
	SceneInfo   *sceneJSON `json:"scene_info,omitempty"`
}

type payerJSON struct {
	OpenID    string `json:"openid,omitempty"`
	SpOpenID  string `json:"sp_openid,omitempty"`
	SubOpenID string `json:"sub_openid,omitempty"`
}

type sceneJSON struct {
	PayerClientIP string      `json:"payer_client_ip"`
	H5Info        *h5InfoJSON `json:"h5_info,omitempty"`
}

type h5InfoJSON struct {
	Type string `json:"type"`
}

type prepayAnswer struct {
	CodeURL  string `json:"code_url"`
	PrepayID string `json:"prepay_id"`
	H5URL    string `json:"h5_url"`
}

// transactionsPath is where trades of this merchant live.
func (p *provider) transactionsPath() string {
	if p.c.partner {
		return "/v3/pay/partner/transactions"
	}
	return "/v3/pay/transactions"
}

func (p *provider) Pay(ctx context.Context, req channel.PayRequest) (channel.PayResult, error) {
	if !attemptNoPattern.MatchString(req.AttemptNo) {
		return channel.PayResult{}, fmt.Errorf("wechatpay: attempt number %q is not 6–32 letters and digits", req.AttemptNo)
	}
	if req.AmountFen <= 0 {
		return channel.PayResult{}, fmt.Errorf("wechatpay: amount %d fen is not positive", req.AmountFen)
	}
	if _, err := absoluteURL(req.NotifyURL); err != nil {
		return channel.PayResult{}, fmt.Errorf("wechatpay: notify url: %w", err)
	}
	b := payBody{
		Description: truncateUTF8(req.Subject, maxDescriptionBytes),
		OutTradeNo:  req.AttemptNo,
		NotifyURL:   req.NotifyURL,
		Amount:      amountJSON{Total: req.AmountFen, Currency: "CNY"},
	}
	if b.Description == "" {
		b.Description = "缴费"
	}
	if !req.ExpiresAt.IsZero() {
		b.TimeExpire = req.ExpiresAt.In(shanghai).Format(time.RFC3339)
	}
	if p.c.partner {
		b.SpAppID, b.SpMchID, b.SubAppID, b.SubMchID = p.c.spAppID, p.c.spMchID, p.c.subAppID, p.c.subMchID
	} else {
		b.AppID, b.MchID = p.c.appID, p.c.mchID
	}
	var kind string
	switch req.Way {
	case channel.WayWxNative:
		kind = "native"
	case channel.WayWxJSAPI:
		kind = "jsapi"
		if req.OpenID == "" {
			return channel.PayResult{}, errors.New("wechatpay: JSAPI needs the payer's openid")
		}
		switch {
		case !p.c.partner:
			b.Payer = &payerJSON{OpenID: req.OpenID}
		case p.c.subAppID != "":
			b.Payer = &payerJSON{SubOpenID: req.OpenID}
		default:
			b.Payer = &payerJSON{SpOpenID: req.OpenID}
		}
	case channel.WayWxH5:
		kind = "h5"
		ip := net.ParseIP(req.PayerIP)
		if ip == nil {
			return channel.PayResult{}, fmt.Errorf("wechatpay: H5 needs the payer's IP address, got %q", req.PayerIP)
		}
		b.SceneInfo = &sceneJSON{PayerClientIP: ip.String(), H5Info: &h5InfoJSON{Type: "Wap"}}
	default:
		return channel.PayResult{}, fmt.Errorf("wechatpay: way %q is not one of WeChat Pay's", req.Way)
	}
	var ans prepayAnswer
	if err := p.call(ctx, "下单", http.MethodPost, p.transactionsPath()+"/"+kind, nil, b, &ans); err != nil {
		return channel.PayResult{}, err
	}
	switch req.Way {
	case channel.WayWxNative:
		if ans.CodeURL == "" {
			return channel.PayResult{}, fmt.Errorf("%w: 微信支付下单应答缺少 code_url", channel.ErrUnavailable)
		}
		return channel.PayResult{QRContent: ans.CodeURL}, nil
	case channel.WayWxH5:
		u, err := absoluteURL(ans.H5URL)
		if err != nil {
			return channel.PayResult{}, fmt.Errorf("%w: 微信支付下单应答的 h5_url 无效", channel.ErrUnavailable)
		}
		if req.ReturnURL != "" {
			// WeChat sends the payer back to redirect_url after the H5 page.
			q := u.Query()
			q.Set("redirect_url", req.ReturnURL)
			u.RawQuery = q.Encode()
		}
		return channel.PayResult{RedirectURL: u.String()}, nil
	default:
		if ans.PrepayID == "" {
			return channel.PayResult{}, fmt.Errorf("%w: 微信支付下单应答缺少 prepay_id", channel.ErrUnavailable)
		}
		m, err := p.jsapiParams(ans.PrepayID)
		if err != nil {
			return channel.PayResult{}, err
		}
		return channel.PayResult{JSAPI: m}, nil
	}
}

// jsapiParams are the arguments of WeixinJSBridge getBrandWCPayRequest, signed with the
// merchant key over appId\ntimeStamp\nnonceStr\npackage\n.
func (p *provider) jsapiParams(prepayID string) (map[string]string, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	m := map[string]string{
		"appId":     p.c.payerAppID(),
		"timeStamp": strconv.FormatInt(p.now().Unix(), 10),
		"nonceStr":  hex.EncodeToString(nonce),
		"package":   "prepay_id=" + prepayID,
		"signType":  "RSA",
	}
	msg := m["appId"] + "\n" + m["timeStamp"] + "\n" + m["nonceStr"] + "\n" + m["package"] + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.c.key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("wechatpay: sign JSAPI parameters: %w", err)
	}
	m["paySign"] = base64.StdEncoding.EncodeToString(sig)
	return m, nil
}

// transaction is a trade as WeChat describes it in a query answer or a notification.
type transaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	SpAppID        string `json:"sp_appid"`
	SpMchID        string `json:"sp_mchid"`
	SubAppID       string `json:"sub_appid"`
	SubMchID       string `json:"sub_mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc"`
	SuccessTime    string `json:"success_time"`
	Amount         struct {
		Total      *int64 `json:"total"`
		PayerTotal *int64 `json:"payer_total"`
		Currency   string `json:"currency"`
	} `json:"amount"`
}

// trade reads a transaction into the channel's Trade, reporting what WeChat says.
func (p *provider) trade(t transaction, raw string) (channel.Trade, error) {
	tr := channel.Trade{OrderNo: t.OutTradeNo, TradeNo: t.TransactionID, Raw: raw}
	if p.c.partner || t.SubMchID != "" {
		tr.MerchantNo = t.SubMchID
		tr.AppID = t.SubAppID
		if tr.AppID == "" {
			tr.AppID = t.SpAppID
		}
	} else {
		tr.MerchantNo, tr.AppID = t.MchID, t.AppID
	}
	if t.OutTradeNo == "" {
		return tr, fmt.Errorf("%w: transaction without out_trade_no", channel.ErrMalformed)
	}
	switch t.TradeState {
	case "SUCCESS", "REFUND":
		tr.Status = channel.TradeSuccess
	case "NOTPAY", "USERPAYING":
		tr.Status = channel.TradeWaiting
	case "CLOSED", "REVOKED", "PAYERROR":
		tr.Status = channel.TradeClosed
	default:
		return tr, fmt.Errorf("%w: trade_state %q", channel.ErrMalformed, t.TradeState)
	}
	if t.Amount.Total != nil {
		tr.AmountFen = *t.Amount.Total
	}
	if tr.Status == channel.TradeSuccess {
		if t.TransactionID == "" || t.Amount.Total == nil || *t.Amount.Total <= 0 {
			return tr, fmt.Errorf("%w: paid transaction without transaction_id or amount", channel.ErrMalformed)
		}
		if t.Amount.Currency != "" && t.Amount.Currency != "CNY" {
			return tr, fmt.Errorf("%w: currency %q", channel.ErrMalformed, t.Amount.Currency)
		}
		at, err := time.Parse(time.RFC3339, t.SuccessTime)
		if err != nil {
			return tr, fmt.Errorf("%w: success_time %q", channel.ErrMalformed, t.SuccessTime)
		}
		tr.PaidAt = at.UTC()
	}
	return tr, nil
}

// merchantQuery names this merchant in a query string.
func (p *provider) merchantQuery() url.Values {
	if p.c.partner {
		return url.Values{"sp_mchid": {p.c.spMchID}, "sub_mchid": {p.c.subMchID}}
	}
	return url.Values{"mchid": {p.c.mchID}}
}

func (p *provider) Query(ctx context.Context, ref channel.TradeRef) (channel.Trade, error) {
	if !attemptNoPattern.MatchString(ref.AttemptNo) {
		return channel.Trade{}, fmt.Errorf("wechatpay: attempt number %q is not 6–32 letters and digits", ref.AttemptNo)
	}
	var raw json.RawMessage
	err := p.call(ctx, "查询订单", http.MethodGet,
		p.transactionsPath()+"/out-trade-no/"+url.PathEscape(ref.AttemptNo), p.merchantQuery(), nil, &raw)
	var api *APIError
	if errors.As(err, &api) && api.Code == "ORDER_NOT_EXIST" {
		return channel.Trade{OrderNo: ref.AttemptNo, Status: channel.TradeNotFound}, nil
	}
	if err != nil {
		return channel.Trade{}, err
	}
	var t transaction
	if err := json.Unmarshal(raw, &t); err != nil {
		return channel.Trade{}, fmt.Errorf("%w: 微信支付查询订单的应答无法解析", channel.ErrUnavailable)
	}
	tr, err := p.trade(t, string(raw))
	if err != nil {
		return tr, fmt.Errorf("%w: 微信支付查询订单的应答不完整（%v）", channel.ErrUnavailable, err)
	}
	return tr, nil
}

func (p *provider) Close(ctx context.Context, ref channel.TradeRef) error {
	if !attemptNoPattern.MatchString(ref.AttemptNo) {
		return fmt.Errorf("wechatpay: attempt number %q is not 6–32 letters and digits", ref.AttemptNo)
	}
	body := map[string]string{}
	if p.c.partner {
		body["sp_mchid"], body["sub_mchid"] = p.c.spMchID, p.c.subMchID
	} else {
		body["mchid"] = p.c.mchID
	}
	return p.call(ctx, "关闭订单", http.MethodPost,
		p.transactionsPath()+"/out-trade-no/"+url.PathEscape(ref.AttemptNo)+"/close", nil, body, nil)
}

type refundBody struct {
	SubMchID    string `json:"sub_mchid,omitempty"`
	OutTradeNo  string `json:"out_trade_no"`
	OutRefundNo string `json:"out_refund_no"`
	Reason      string `json:"reason,omitempty"`
	NotifyURL   string `json:"notify_url,omitempty"`
	Amount      struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// refund is a refund as WeChat describes it in an answer or (mostly) a notification.
type refund struct {
	MchID               string `json:"mchid"`
	SpMchID             string `json:"sp_mchid"`
	SubMchID            string `json:"sub_mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	Status              string `json:"status"`        // answers
	RefundStatus        string `json:"refund_status"` // notifications
	UserReceivedAccount string `json:"user_received_account"`
	SuccessTime         string `json:"success_time"`
	Amount              struct {
		Total       *int64 `json:"total"`
		Refund      *int64 `json:"refund"`
		PayerTotal  *int64 `json:"payer_total"`
		PayerRefund *int64 `json:"payer_refund"`
	} `json:"amount"`
}

// result reads a refund into the channel's RefundResult.
func (r refund) result() (channel.RefundResult, error) {
	res := channel.RefundResult{RefundNo: r.OutRefundNo, ChannelRefundNo: r.RefundID}
	if r.OutRefundNo == "" || r.Amount.Refund == nil || *r.Amount.Refund <= 0 {
		return res, fmt.Errorf("%w: refund without out_refund_no or amount", channel.ErrMalformed)
	}
	res.AmountFen = *r.Amount.Refund
	status := r.Status
	if status == "" {
		status = r.RefundStatus
	}
	switch status {
	case "SUCCESS":
		res.Status = channel.RefundSucceeded
		res.Message = "退款成功，退入" + r.UserReceivedAccount
		if r.UserReceivedAccount == "" {
			res.Message = "退款成功"
		}
	case "PROCESSING":
		res.Status = channel.RefundProcessing
		res.Message = "微信支付退款处理中"
	case "CLOSED":
		res.Status = channel.RefundClosed
		res.Message = "微信支付已关闭此退款，款项未退出"
	case "ABNORMAL":
		res.Status = channel.RefundAbnormal
		res.Message = "微信支付退款异常：退款到用户银行卡失败（卡已注销或冻结），需在商户平台「交易中心 › 退款管理」中发起异常退款处理"
	default:
		return res, fmt.Errorf("%w: refund status %q", channel.ErrMalformed, status)
	}
	return res, nil
}

func (p *provider) checkRefundCall(call channel.RefundCall) error {
	if !attemptNoPattern.MatchString(call.Trade.AttemptNo) {
		return fmt.Errorf("wechatpay: attempt number %q is not 6–32 letters and digits", call.Trade.AttemptNo)
	}
	if !refundNoPattern.MatchString(call.RefundNo) {
		return fmt.Errorf("wechatpay: refund number %q is not 1–64 letters and digits", call.RefundNo)
	}
	return nil
}

func (p *provider) Refund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := p.checkRefundCall(call); err != nil {
		return channel.RefundResult{}, err
	}
	if call.AmountFen <= 0 || call.TotalFen <= 0 || call.AmountFen > call.TotalFen {
		return channel.RefundResult{}, fmt.Errorf("wechatpay: refund %d fen of %d fen", call.AmountFen, call.TotalFen)
	}
	b := refundBody{OutTradeNo: call.Trade.AttemptNo, OutRefundNo: call.RefundNo,
		Reason: truncateUTF8(call.Reason, 80), NotifyURL: call.NotifyURL}
	if p.c.partner {
		b.SubMchID = p.c.subMchID
	}
	b.Amount.Refund, b.Amount.Total, b.Amount.Currency = call.AmountFen, call.TotalFen, "CNY"
	var r refund
	if err := p.call(ctx, "申请退款", http.MethodPost, "/v3/refund/domestic/refunds", nil, b, &r); err != nil {
		return channel.RefundResult{}, err
	}
	res, err := r.result()
	if err != nil {
		return res, fmt.Errorf("%w: 微信支付退款应答不完整（%v）", channel.ErrUnavailable, err)
	}
	return res, nil
}

func (p *provider) QueryRefund(ctx context.Context, call channel.RefundCall) (channel.RefundResult, error) {
	if err := p.checkRefundCall(call); err != nil {
		return channel.RefundResult{}, err
	}
	var q url.Values
	if p.c.partner {
		q = url.Values{"sub_mchid": {p.c.subMchID}}
	}
	var r refund
	if err := p.call(ctx, "查询退款", http.MethodGet, "/v3/refund/domestic/refunds/"+url.PathEscape(call.RefundNo), q, nil, &r); err != nil {
		return channel.RefundResult{}, err
	}
	res, err := r.result()
	if err != nil {
		return res, fmt.Errorf("%w: 微信支付退款查询应答不完整（%v）", channel.ErrUnavailable, err)
	}
	return res, nil
}

// OAuthURL is WeChat's snsapi_base authorisation address: opened inside WeChat, it sends the
// payer back to redirect with ?code=…&state=… without asking anything.
func OAuthURL(appid, redirect, state string) string {
	return oauthURL("https://open.weixin.qq.com", appid, redirect, state)
}

func oauthURL(base, appid, redirect, state string) string {
	// WeChat reads its parameters in this order and wants #wechat_redirect at the end.
	enc := "appid=" + url.QueryEscape(appid) + "&redirect_uri=" + url.QueryEscape(redirect) +
		"&response_type=code&scope=snsapi_base&state=" + url.QueryEscape(state)
	return base + "/connect/oauth2/authorize?" + enc + "#wechat_redirect"
}

// OAuth is what the cashier needs from a WeChat Pay merchant for JSAPI.
type OAuth interface {
	// OAuthURL is the authorisation address for this merchant's official account (on the
	// configured api_base when it is not WeChat's, i.e. the simulator).
	OAuthURL(redirect, state string) string
	// OpenID exchanges the code WeChat appended to the redirect for the payer's openid.
	OpenID(ctx context.Context, code string) (string, error)
}

func (p *provider) custom() bool { return p.c.base.String() != DefaultAPIBase }

func (p *provider) OAuthURL(redirect, state string) string {
	if p.custom() {
		return oauthURL(p.c.base.String(), p.c.payerAppID(), redirect, state)
	}
	return OAuthURL(p.c.payerAppID(), redirect, state)
}

func (p *provider) OpenID(ctx context.Context, code string) (string, error) {
	if code == "" || len(code) > 128 {
		return "", errors.New("wechatpay: no OAuth code")
	}
	if p.c.appSecret == "" {
		return "", fieldError(FieldAppSecret, "公众号 AppSecret", "未填写，无法在微信内获取付款人 openid")
	}
	base := "https://api.weixin.qq.com"
	if p.custom() {
		base = p.c.base.String()
	}
	u, err := url.Parse(base + "/sns/oauth2/access_token")
	if err != nil {
		return "", err
	}
	u.RawQuery = url.Values{"appid": {p.c.payerAppID()}, "secret": {p.c.appSecret},
		"code": {code}, "grant_type": {"authorization_code"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := p.plain.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: 无法连接微信网页授权接口（%v）", channel.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: 微信网页授权接口应答异常（HTTP %d）", channel.ErrUnavailable, resp.StatusCode)
	}
	var ans struct {
		OpenID  string `json:"openid"`
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return "", fmt.Errorf("%w: 微信网页授权接口应答无法解析", channel.ErrUnavailable)
	}
	if ans.ErrCode != 0 || ans.OpenID == "" {
		return "", fmt.Errorf("wechatpay: 微信网页授权失败（%d %s）", ans.ErrCode, ans.ErrMsg)
	}
	return ans.OpenID, nil
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

var (
	_ channel.Provider = (*provider)(nil)
	_ OAuth            = (*provider)(nil)
)
