package alipay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trade states as Alipay names them.
const (
	statusWait     = "WAIT_BUYER_PAY"
	statusSuccess  = "TRADE_SUCCESS"
	statusFinished = "TRADE_FINISHED"
	statusClosed   = "TRADE_CLOSED"
)

var (
	outTradeNoPattern = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)
	yuanPattern       = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)
)

type trade struct {
	outTradeNo, tradeNo string
	amountFen           int64
	subject             string
	product             string // FACE_TO_FACE_PAYMENT, QUICK_WAP_WAY, FAST_INSTANT_TRADE_PAY
	notifyURL           string
	returnURL           string
	authToken           string
	certMode            bool
	scanned             bool // a precreated QR code is unknown to query until scanned
	status              string
	created, paid       time.Time
	expires             time.Time
	refunds             []*refund
}

type refund struct {
	outRequestNo string
	amountFen    int64
	at           time.Time
}

func (t *trade) refunded() int64 {
	var n int64
	for _, r := range t.refunds {
		n += r.amountFen
	}
	return n
}

func (t *trade) refund(no string) *refund {
	for _, r := range t.refunds {
		if r.outRequestNo == no {
			return r
		}
	}
	return nil
}

// request is a verified gateway request.
type request struct {
	method   string
	values   url.Values
	biz      map[string]any
	certMode bool
}

func (r request) str(key string) string {
	v, _ := r.biz[key].(string)
	return v
}

// signContent is Alipay's string to sign: every non-empty parameter but the skipped
// ones, "k=v" sorted and joined with "&".
func signContent(values url.Values, skip ...string) string {
	var pairs []string
	for k, vs := range values {
		if len(vs) == 0 || vs[0] == "" || contains(skip, k) {
			continue
		}
		pairs = append(pairs, k+"="+vs[0])
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sign(key *rsa.PrivateKey, content []byte) string {
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("alipay sim: sign: " + err.Error()) // cannot fail with a valid key
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func verify(pub *rsa.PublicKey, content, signature string) bool {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(content))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}

// check verifies a request's common parameters and signature the way Alipay does. It
// returns the sub code and message of a refusal.
func (s *Sim) check(values url.Values) (request, string, string) {
	for k, vs := range values {
		if len(vs) != 1 {
			return request{}, "isv.invalid-parameter", "参数 " + k + " 重复"
		}
	}
	req := request{method: values.Get("method"), values: values}
	switch {
	case values.Get("app_id") != s.appID:
		return req, "isv.invalid-app-id", "无效的AppID参数"
	case values.Get("sign_type") != "RSA2":
		return req, "isv.invalid-signature-type", "无效的签名类型"
	case values.Get("charset") != "" && !strings.EqualFold(values.Get("charset"), "utf-8"):
		return req, "isv.invalid-charset", "字符集错误"
	case values.Get("version") != "1.0":
		return req, "isv.invalid-parameter", "version 应为 1.0"
	}
	if _, err := time.ParseInLocation(wireTime, values.Get("timestamp"), shanghai); err != nil {
		return req, "isv.invalid-timestamp", "非法的时间戳参数"
	}
	if sn := values.Get("app_cert_sn"); sn != "" {
		req.certMode = true
		if sn != certSN(s.appCert) {
			return req, "isv.invalid-app-cert-sn", "应用公钥证书序列号不匹配"
		}
		if values.Get("alipay_root_cert_sn") != certSN(s.rootCert) {
			return req, "isv.invalid-alipay-root-cert-sn", "支付宝根证书序列号不匹配"
		}
	}
	if !verify(&s.appKey.PublicKey, signContent(values, "sign"), values.Get("sign")) {
		return req, "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配"
	}
	if tok := values.Get("app_auth_token"); tok != "" && tok != s.authToken {
		return req, "aop.invalid-app-auth-token", "无效的应用授权令牌"
	}
	if bc := values.Get("biz_content"); bc != "" {
		d := json.NewDecoder(strings.NewReader(bc))
		d.UseNumber()
		if err := d.Decode(&req.biz); err != nil {
			return req, "isv.invalid-parameter", "biz_content 不是 JSON 对象"
		}
	}
	if req.biz == nil {
		req.biz = map[string]any{}
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: req.method, AppAuthToken: values.Get("app_auth_token"),
		NotifyURL: values.Get("notify_url"), ReturnURL: values.Get("return_url"), AppCertSN: values.Get("app_cert_sn"), Biz: req.biz})
	s.mu.Unlock()
	return req, "", ""
}

// answer is one gateway answer: the inner object and whether to sign it.
type answer struct {
	inner  any
	signed bool
}

func ok(fields map[string]any) answer {
	fields["code"] = "10000"
	fields["msg"] = "Success"
	return answer{inner: fields, signed: true}
}

// bizError is Alipay's business failure (40004), signed like a success.
func bizError(subCode, subMsg string) answer {
	return answer{inner: map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": subCode, "sub_msg": subMsg}, signed: true}
}

// gateway handles POST /gateway.do.
func (s *Sim) gateway(w http.ResponseWriter, r *http.Request) {
	if s.Switches().Garbage {
		http.Error(w, "<html><body>502 Bad Gateway</body></html>", http.StatusBadGateway)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	values := r.PostForm
	req, sub, msg := s.check(values)
	if sub != "" {
		// Alipay refuses an unauthenticated request with 40002 and no signature.
		code, m := "40002", "Invalid Arguments"
		if sub == "aop.invalid-app-auth-token" {
			code, m = "20001", "Insufficient Token Permissions"
		}
		s.write(w, req, answer{inner: map[string]any{"code": code, "msg": m, "sub_code": sub, "sub_msg": msg}})
		return
	}
	var a answer
	switch req.method {
	case "alipay.trade.precreate":
		a = s.precreate(r, req)
	case "alipay.trade.query":
		a = s.query(req)
	case "alipay.trade.close":
		a = s.close(req)
	case "alipay.trade.refund":
		a = s.refund(req)
	case "alipay.trade.fastpay.refund.query":
		a = s.refundQuery(req)
	case "alipay.data.dataservice.bill.downloadurl.query":
		a = s.billURL(r, req)
	case "alipay.open.app.alipaycert.download":
		a = s.certDownload(req)
	default:
		a = answer{inner: map[string]any{"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"}}
	}
	s.write(w, req, a)
}

// write sends {"<method>_response": inner, "alipay_cert_sn": …, "sign": …}; the signature
// covers the inner object's bytes exactly as sent.
func (s *Sim) write(w http.ResponseWriter, req request, a answer) {
	inner, err := json.Marshal(a.inner)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	name := strings.ReplaceAll(req.method, ".", "_") + "_response"
	if req.method == "" {
		name = "error_response"
	}
	var b bytes.Buffer
	b.WriteString(`{"`)
	b.WriteString(name)
	b.WriteString(`":`)
	b.Write(inner)
	if a.signed {
		s.mu.Lock()
		key, cert := s.aliKey, s.aliCert
		s.mu.Unlock()
		if req.certMode && req.method != "alipay.open.app.alipaycert.download" {
			b.WriteString(`,"alipay_cert_sn":"` + certSN(cert) + `"`)
		}
		b.WriteString(`,"sign":"` + sign(key, inner) + `"`)
	}
	b.WriteString("}")
	w.Header().Set("Content-Type", "text/html;charset=utf-8") // what Alipay sends
	w.Write(b.Bytes())
}

// parseAmount reads a request's yuan amount into fen.
func parseAmount(s string) (int64, bool) {
	if !yuanPattern.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	frac += "00"[len(frac):]
	f, _ := strconv.ParseInt(frac, 10, 64)
	fen := w*100 + f
	return fen, fen > 0 && fen <= 100_000_000_00
}

// createTrade records a trade for a pay request, or finds the one already made for the
// same out_trade_no. It returns a sub code and message when it refuses.
func (s *Sim) createTrade(req request, product string) (*trade, string, string) {
	no := req.str("out_trade_no")
	amount, okAmount := parseAmount(req.str("total_amount"))
	switch {
	case !outTradeNoPattern.MatchString(no):
		return nil, "ACQ.INVALID_PARAMETER", "参数无效：out_trade_no"
	case !okAmount:
		return nil, "ACQ.INVALID_PARAMETER", "参数无效：total_amount"
	case req.str("subject") == "":
		return nil, "ACQ.INVALID_PARAMETER", "参数无效：subject"
	case req.str("product_code") != product:
		return nil, "ACQ.INVALID_PARAMETER", "product_code 应为 " + product
	case req.str("seller_id") != "" && req.str("seller_id") != s.sellerID:
		return nil, "ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家账号与应用不匹配"
	}
	var expires time.Time
	if te := req.str("time_expire"); te != "" {
		var err error
		if expires, err = time.ParseInLocation(wireTime, te, shanghai); err != nil {
			if expires, err = time.ParseInLocation("2006-01-02 15:04", te, shanghai); err != nil {
				return nil, "ACQ.INVALID_PARAMETER", "参数无效：time_expire"
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[no]; t != nil {
		switch {
		case t.amountFen != amount || t.subject != req.str("subject"):
			return nil, "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"
		case t.status == statusSuccess || t.status == statusFinished:
			return nil, "ACQ.TRADE_HAS_SUCCESS", "交易已被支付"
		case t.status == statusClosed:
			return nil, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭"
		}
		t.product = product
		return t, "", ""
	}
	t := &trade{
		outTradeNo: no, tradeNo: s.newTradeNo(), amountFen: amount, subject: req.str("subject"),
		product: product, notifyURL: req.values.Get("notify_url"), returnURL: req.values.Get("return_url"),
		authToken: req.values.Get("app_auth_token"), certMode: req.certMode,
		status: statusWait, created: s.now(), expires: expires,
	}
	s.trades[no] = t
	s.byNo[t.tradeNo] = t
	return t, "", ""
}

func (s *Sim) precreate(r *http.Request, req request) answer {
	t, sub, msg := s.createTrade(req, "FACE_TO_FACE_PAYMENT")
	if sub != "" {
		return bizError(sub, msg)
	}
	return ok(map[string]any{"out_trade_no": t.outTradeNo, "qr_code": s.absolute(r, "/pay/"+t.tradeNo)})
}

// absolute is an address of the fake as the caller reached it.
func (s *Sim) absolute(r *http.Request, path string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: s.base + path}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}

// find returns the trade a request names by trade_no or out_trade_no (nil: none), holding s.mu.
func (s *Sim) findLocked(req request) *trade {
	if no := req.str("trade_no"); no != "" {
		return s.byNo[no]
	}
	return s.trades[req.str("out_trade_no")]
}

// expireLocked closes a waiting trade whose time is up.
func (s *Sim) expireLocked(t *trade) {
	if t.status == statusWait && !t.expires.IsZero() && s.now().After(t.expires) {
		t.status = statusClosed
	}
}

func (s *Sim) query(req request) answer {
	sw := s.Switches()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findLocked(req)
	if t == nil || !t.scanned {
		return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	s.expireLocked(t)
	f := map[string]any{
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "trade_status": t.status,
		"total_amount": yuan(t.amountFen + sw.AmountDeltaFen), "buyer_logon_id": "stu***@example.edu.cn",
	}
	if !t.paid.IsZero() {
		f["send_pay_date"] = t.paid.In(shanghai).Format(wireTime)
		f["receipt_amount"] = yuan(t.amountFen)
		f["buyer_pay_amount"] = yuan(t.amountFen)
	}
	return ok(f)
}

func (s *Sim) close(req request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findLocked(req)
	if t == nil {
		return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	s.expireLocked(t)
	if !t.scanned {
		// Alipay does not know an unscanned QR code; the fake stops it being paid anyway.
		t.status = statusClosed
		return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	if t.status != statusWait {
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	t.status = statusClosed
	return ok(map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo})
}

func (s *Sim) refund(req request) answer {
	no := req.str("out_request_no")
	amount, okAmount := parseAmount(req.str("refund_amount"))
	if no == "" {
		no = req.str("out_trade_no")
	}
	if !okAmount {
		return bizError("ACQ.INVALID_PARAMETER", "参数无效：refund_amount")
	}
	s.mu.Lock()
	t := s.findLocked(req)
	if t == nil || !t.scanned {
		s.mu.Unlock()
		return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	f := map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "buyer_logon_id": "stu***@example.edu.cn"}
	if r := t.refund(no); r != nil {
		// Idempotent on out_request_no: nothing moves again.
		s.mu.Unlock()
		if r.amountFen != amount {
			return bizError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原退款请求不一致")
		}
		f["fund_change"] = "N"
		f["refund_fee"] = yuan(t.refunded())
		return ok(f)
	}
	switch {
	case t.status == statusFinished:
		s.mu.Unlock()
		return bizError("ACQ.TRADE_HAS_FINISHED", "交易已完结")
	case t.status != statusSuccess:
		s.mu.Unlock()
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	case t.refunded()+amount > t.amountFen:
		s.mu.Unlock()
		return bizError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	r := &refund{outRequestNo: no, amountFen: amount, at: s.now()}
	t.refunds = append(t.refunds, r)
	if t.refunded() == t.amountFen {
		t.status = statusClosed
	}
	f["fund_change"] = "Y"
	f["refund_fee"] = yuan(t.refunded())
	f["gmt_refund_pay"] = r.at.In(shanghai).Format(wireTime)
	n := s.refundNoticeLocked(t, r)
	s.mu.Unlock()
	s.dispatch(n)
	return ok(f)
}

func (s *Sim) refundQuery(req request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findLocked(req)
	if t == nil || !t.scanned {
		return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	f := map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "out_request_no": req.str("out_request_no")}
	if r := t.refund(req.str("out_request_no")); r != nil {
		f["refund_status"] = "REFUND_SUCCESS"
		f["refund_amount"] = yuan(r.amountFen)
		f["total_amount"] = yuan(t.amountFen)
		f["gmt_refund_pay"] = r.at.In(shanghai).Format(wireTime)
	}
	return ok(f)
}

func (s *Sim) certDownload(req request) answer {
	s.mu.Lock()
	c := s.issued[req.str("alipay_cert_sn")]
	s.mu.Unlock()
	if c == nil {
		return bizError("CERT_NOT_EXIST", "证书不存在")
	}
	return ok(map[string]any{"alipay_cert_content": base64.StdEncoding.EncodeToString([]byte(certPEM(c)))})
}
