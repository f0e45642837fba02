package alipay

import (
	"html/template"
	"net/http"
	"net/url"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝（模拟）</title>
</head>
<body>
<h1>支付宝（模拟收银台）</h1>
{{if .Error}}<p>{{.Error}}</p>{{else}}
<p>商品：{{.Subject}}</p>
<p>金额：<strong>¥{{.Amount}}</strong></p>
<p>商户订单号：{{.OutTradeNo}}</p>
<p>支付宝交易号：{{.TradeNo}}</p>
{{if eq .Status "WAIT_BUYER_PAY"}}
<form method="post" action="{{.Action}}">
<button type="submit" name="action" value="pay">确认支付</button>
<button type="submit" name="action" value="cancel">取消</button>
</form>
{{else if eq .Status "TRADE_CLOSED"}}<p>交易已关闭</p>
{{else}}<p>支付成功</p>{{end}}
{{end}}
<p>这是演示用的模拟支付宝，不会产生真实扣款。</p>
</body>
</html>
`))

type pageData struct {
	Error, Subject, Amount, OutTradeNo, TradeNo, Status, Action string
}

func (s *Sim) renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, d)
}

// pagePay handles GET /gateway.do: the browser opens the signed address the app built for
// alipay.trade.wap.pay or alipay.trade.page.pay. The trade is created now and the payer
// is sent to its hosted page.
func (s *Sim) pagePay(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > maxForm {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "请求过长"})
		return
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "请求参数无法解析"})
		return
	}
	req, sub, msg := s.check(values)
	if sub != "" {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "支付宝拒绝了这笔请求：" + msg + "（" + sub + "）"})
		return
	}
	var product string
	switch req.method {
	case "alipay.trade.wap.pay":
		product = "QUICK_WAP_WAY"
	case "alipay.trade.page.pay":
		product = "FAST_INSTANT_TRADE_PAY"
	default:
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "不支持的接口：" + req.method})
		return
	}
	t, sub, msg := s.createTrade(req, product)
	if sub != "" {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: msg + "（" + sub + "）"})
		return
	}
	s.mu.Lock()
	t.scanned = true
	s.mu.Unlock()
	http.Redirect(w, r, s.base+"/pay/"+url.PathEscape(t.tradeNo), http.StatusFound)
}

// payPage handles GET /pay/{no}: opening it is "scanning" the QR code.
func (s *Sim) payPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.byNo[r.PathValue("no")]
	if t == nil {
		s.mu.Unlock()
		s.renderPage(w, http.StatusNotFound, pageData{Error: "交易不存在"})
		return
	}
	if t.status == statusWait {
		t.scanned = true
	}
	s.expireLocked(t)
	d := pageData{Subject: t.subject, Amount: yuan(t.amountFen), OutTradeNo: t.outTradeNo, TradeNo: t.tradeNo,
		Status: t.status, Action: s.base + "/pay/" + url.PathEscape(t.tradeNo)}
	s.mu.Unlock()
	s.renderPage(w, http.StatusOK, d)
}

// payAction handles POST /pay/{no}: 确认支付 pays the trade, 取消 leaves it waiting.
func (s *Sim) payAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "请求无法解析"})
		return
	}
	s.mu.Lock()
	t := s.byNo[r.PathValue("no")]
	if t == nil {
		s.mu.Unlock()
		s.renderPage(w, http.StatusNotFound, pageData{Error: "交易不存在"})
		return
	}
	s.expireLocked(t)
	if r.PostFormValue("action") != "pay" || t.status != statusWait {
		status := t.status
		s.mu.Unlock()
		if status == statusClosed {
			s.renderPage(w, http.StatusConflict, pageData{Error: "交易已关闭，不能支付"})
			return
		}
		http.Redirect(w, r, s.base+"/pay/"+url.PathEscape(t.tradeNo), http.StatusSeeOther)
		return
	}
	t.scanned = true
	t.status = statusSuccess
	t.paid = s.now()
	n := s.tradeNoticeLocked(t)
	back := s.returnURLLocked(t)
	s.mu.Unlock()
	s.dispatch(n)
	if back != "" {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, s.base+"/pay/"+url.PathEscape(t.tradeNo), http.StatusSeeOther)
}

// returnURLLocked is where Alipay sends the payer back after a wap or page payment: the
// return_url with the synchronous result appended and signed (Alipay's "return" call).
func (s *Sim) returnURLLocked(t *trade) string {
	if t.returnURL == "" {
		return ""
	}
	u, err := url.Parse(t.returnURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	method := "alipay.trade.wap.pay.return"
	if t.product == "FAST_INSTANT_TRADE_PAY" {
		method = "alipay.trade.page.pay.return"
	}
	q := u.Query()
	v := url.Values{
		"app_id": {s.appID}, "method": {method}, "charset": {"utf-8"}, "sign_type": {"RSA2"},
		"timestamp": {s.now().In(shanghai).Format(wireTime)}, "version": {"1.0"},
		"out_trade_no": {t.outTradeNo}, "trade_no": {t.tradeNo}, "total_amount": {yuan(t.amountFen)},
		"seller_id": {s.sellerID},
	}
	v.Set("sign", sign(s.aliKey, []byte(signContent(v, "sign", "sign_type"))))
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}
