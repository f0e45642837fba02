package wechatpay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The payer's pages: plain HTML in Simplified Chinese, no script, no external assets.
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{if .Error}}<p>{{.Error}}</p>{{end}}
{{if .Subject}}<p>商品：{{.Subject}}</p>
<p>金额：¥{{.Yuan}}</p>
<p>收款商户：{{.Merchant}}</p>
<p>状态：{{.State}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<button type="submit">确认支付</button>
</form>{{end}}
{{if .Back}}<p><a href="{{.Back}}">返回商户页面</a></p>{{end}}
<p>这是模拟的微信支付，不会发生真实扣款。</p>
</body></html>`))

type pageData struct {
	Title, Error, Subject, Yuan, Merchant, State string
	Action                                       string
	Hidden                                       map[string]string
	Back                                         string
}

func render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.Execute(w, d)
}

var stateNames = map[string]string{StateNotPay: "待支付", StateSuccess: "支付成功", StateClosed: "已关闭", StateRefund: "已支付（有退款）"}

func (s *Sim) tradePage(t *trade, title, action string, hidden map[string]string) pageData {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(t)
	d := pageData{Title: title, Subject: t.description, Yuan: yuan(t.total), Merchant: "商户号 " + t.collecting(),
		State: stateNames[t.state]}
	if t.state == StateNotPay {
		d.Action, d.Hidden = action, hidden
	}
	return d
}

// returnTo is a payer's way back: only an absolute http(s) address, rebuilt from its parts.
func returnTo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawQuery: u.RawQuery}).String()
}

func (s *Sim) byKey(k string) *trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byCode[k]
}

// payPage is the hosted "scan and pay" page a Native code_url opens.
func (s *Sim) payPage(w http.ResponseWriter, r *http.Request) {
	t := s.byKey(r.PathValue("code"))
	if t == nil {
		render(w, http.StatusNotFound, pageData{Title: "微信支付（模拟）", Error: "二维码已失效或不存在。"})
		return
	}
	render(w, http.StatusOK, s.tradePage(t, "微信支付（模拟）扫码付款", t.code+"/confirm", nil))
}

// h5Page is the page an H5 h5_url opens in a phone browser.
func (s *Sim) h5Page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := s.byKey(q.Get("prepay_id"))
	if t == nil || t.tradeType != "MWEB" {
		render(w, http.StatusNotFound, pageData{Title: "微信支付（模拟）", Error: "支付链接已失效。"})
		return
	}
	hidden := map[string]string{}
	if back := returnTo(q.Get("redirect_url")); back != "" {
		hidden["return"] = back
	}
	render(w, http.StatusOK, s.tradePage(t, "微信支付（模拟）H5 支付", "pay/"+t.code+"/confirm", hidden))
}

func (s *Sim) payConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	t := s.byKey(r.PathValue("code"))
	if t == nil {
		render(w, http.StatusNotFound, pageData{Title: "微信支付（模拟）", Error: "二维码已失效或不存在。"})
		return
	}
	s.finish(w, r, t, simulatedOpenID)
}

func (s *Sim) finish(w http.ResponseWriter, r *http.Request, t *trade, openid string) {
	back := returnTo(r.PostFormValue("return"))
	if err := s.pay(t, openid); err != nil {
		render(w, http.StatusConflict, pageData{Title: "微信支付（模拟）", Error: "无法支付：" + err.Error() + "。", Back: back})
		return
	}
	if back != "" {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	render(w, http.StatusOK, pageData{Title: "支付成功", Subject: t.description, Yuan: yuan(t.total),
		Merchant: "商户号 " + t.collecting(), State: "支付成功"})
}

// SheetURL is the path (under the base) of the JSAPI payment sheet for the parameters an
// adapter returned for WeixinJSBridge; after paying, the sheet sends the payer to returnURL.
func (s *Sim) SheetURL(params map[string]string, returnURL string) string {
	return SheetAt(s.base, params, returnURL)
}

// SheetAt is the address of the JSAPI payment sheet of the fake at base (its public URL, the
// demo account's api_base): what a browser without WeixinJSBridge opens instead of the sheet.
func SheetAt(base string, params map[string]string, returnURL string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	if returnURL != "" {
		q.Set("return", returnURL)
	}
	return strings.TrimSuffix(base, "/") + "/jsapi?" + q.Encode()
}

// sheetPage plays WeChat's payment sheet: it checks paySign with the merchant's key, as
// WeChat does, before offering to pay.
func (s *Sim) sheetPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, why := s.checkSheet(q)
	if t == nil {
		render(w, http.StatusBadRequest, pageData{Title: "微信支付（模拟）", Error: why})
		return
	}
	hidden := map[string]string{"prepay_id": t.prepayID}
	if back := returnTo(q.Get("return")); back != "" {
		hidden["return"] = back
	}
	render(w, http.StatusOK, s.tradePage(t, "微信支付（模拟）", "jsapi/confirm", hidden))
}

func (s *Sim) checkSheet(q url.Values) (*trade, string) {
	if q.Get("signType") != "RSA" {
		return nil, "signType 应为 RSA。"
	}
	msg := q.Get("appId") + "\n" + q.Get("timeStamp") + "\n" + q.Get("nonceStr") + "\n" + q.Get("package") + "\n"
	sig, err := base64.StdEncoding.DecodeString(q.Get("paySign"))
	sum := sha256.Sum256([]byte(msg))
	if err != nil || rsa.VerifyPKCS1v15(&s.merchantKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, "支付验证签名失败。"
	}
	prepay, ok := strings.CutPrefix(q.Get("package"), "prepay_id=")
	t := s.byKey(prepay)
	if !ok || t == nil || t.tradeType != "JSAPI" {
		return nil, "prepay_id 不存在或已失效。"
	}
	want := t.appID
	if t.partner {
		want = t.subAppID
		if want == "" {
			want = t.spAppID
		}
	}
	if q.Get("appId") != want {
		return nil, "appId 与下单时的公众号不一致。"
	}
	return t, ""
}

func (s *Sim) sheetConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	t := s.byKey(r.PostFormValue("prepay_id"))
	if t == nil || t.tradeType != "JSAPI" {
		render(w, http.StatusNotFound, pageData{Title: "微信支付（模拟）", Error: "prepay_id 不存在或已失效。"})
		return
	}
	s.finish(w, r, t, t.openID)
}

// OpenID is the openid the fake's OAuth gives every payer of its official account.
func (s *Sim) OpenID() string { return simulatedOpenID }

// oauthAuthorize plays WeChat's snsapi_base authorisation: it redirects at once to
// redirect_uri with a one-time code and the state.
func (s *Sim) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back := returnTo(q.Get("redirect_uri"))
	switch {
	case q.Get("appid") != s.appID:
		render(w, http.StatusBadRequest, pageData{Title: "微信授权（模拟）", Error: "appid 无效（错误码 10003）。"})
		return
	case q.Get("scope") != "snsapi_base" || q.Get("response_type") != "code":
		render(w, http.StatusBadRequest, pageData{Title: "微信授权（模拟）", Error: "scope 参数错误（错误码 10005）。"})
		return
	case back == "":
		render(w, http.StatusBadRequest, pageData{Title: "微信授权（模拟）", Error: "redirect_uri 参数错误（错误码 10003）。"})
		return
	}
	code := randomHex(16)
	s.mu.Lock()
	if len(s.codes) > 10000 {
		s.codes = map[string]string{}
	}
	s.codes[code] = q.Get("appid")
	s.mu.Unlock()
	u, _ := url.Parse(back)
	rq := u.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Sim) oauthToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	fail := func(code int, msg string) {
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
	}
	if q.Get("appid") != s.appID || q.Get("secret") != s.appSecret {
		fail(40125, "invalid appsecret")
		return
	}
	if q.Get("grant_type") != "authorization_code" {
		fail(40002, "invalid grant_type")
		return
	}
	s.mu.Lock()
	app, ok := s.codes[q.Get("code")]
	delete(s.codes, q.Get("code"))
	s.mu.Unlock()
	if !ok || app != q.Get("appid") {
		fail(40029, "invalid code")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": randomHex(16), "expires_in": 7200,
		"refresh_token": randomHex(16), "openid": simulatedOpenID, "scope": "snsapi_base"})
}

func (s *Sim) getSwitches(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Switches())
}

// postSwitches sets the switches from a JSON body (durations in nanoseconds).
func (s *Sim) postSwitches(w http.ResponseWriter, r *http.Request) {
	var sw Switches
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&sw); err != nil {
		http.Error(w, "bad switches: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.SetSwitches(sw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.getSwitches(w, r)
}

// postRotate rotates a key: {"what":"platform_cert"} or {"what":"public_key"}.
func (s *Sim) postRotate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		What string `json:"what"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var serial string
	switch req.What {
	case ModePlatformCert:
		serial = s.RotatePlatformCert()
	case ModePublicKey:
		serial = s.RotatePublicKey()
	default:
		http.Error(w, `what must be "platform_cert" or "public_key"`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"serial": serial})
}

// postMode switches answer signing: {"mode":"platform_cert"} or {"mode":"public_key"}.
func (s *Sim) postMode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode string `json:"mode"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := s.SetMode(req.Mode); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"mode": req.Mode, "serial": s.Serial()})
}
