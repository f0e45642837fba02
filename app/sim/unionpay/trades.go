package unionpay

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// Transaction states.
const (
	stateWaiting    = "waiting"    // consume: the payer is on the pay page
	statePaid       = "paid"       // consume: money taken
	stateProcessing = "processing" // refund/revoke: accepted, not finished
	stateSucceeded  = "succeeded"  // refund/revoke: money returned
)

var (
	orderIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{8,40}$`)
	fenPattern     = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
)

// txn is one transaction as the fake keeps it.
type txn struct {
	txnType     string // 01 consume, 04 refund, 31 revoke
	orderID     string
	txnTime     string
	amount      int64
	channelType string
	frontURL    string
	backURL     string
	payTimeout  time.Time
	state       string
	queryID     string
	traceNo     string
	traceTime   string    // MMddHHmmss
	settleDay   time.Time // the UnionPay clearing day (midnight Beijing)
	at          time.Time
	orig        *txn  // refunds: the consume
	refunded    int64 // consumes: refunds accepted so far
	revoked     bool
	token       string
}

func key(merID, orderID, txnTime string) string { return merID + "|" + orderID + "|" + txnTime }

// businessDay is the clearing day of t: it ends at 23:00 Beijing time.
func businessDay(t time.Time) time.Time {
	b := t.In(beijing).Add(time.Hour)
	return time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, beijing)
}

// stampLocked gives a transaction its UnionPay numbers at the moment it is processed.
func (s *Sim) stampLocked(t *txn, now time.Time) {
	s.seq++
	bj := now.In(beijing)
	t.at = now
	t.queryID = fmt.Sprintf("%s%07d", bj.Format("06010215040500"), s.seq%10_000_000)
	t.traceNo = fmt.Sprintf("%06d", s.seq%1_000_000)
	t.traceTime = bj.Format("0102150405")
	t.settleDay = businessDay(now)
	s.byQuery[t.queryID] = t
}

//go:embed pages.html
var pagesHTML string

var pages = template.Must(template.New("pages").Parse(pagesHTML))

type pageData struct {
	Title    string
	Message  string
	Amount   string
	OrderID  string
	Token    string
	PayURL   string
	Action   string
	Fields   map[string]string
	Merchant string
}

func (s *Sim) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "page", d)
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// front takes the consume form the payer's browser posts and shows the pay page.
func (s *Sim) front(w http.ResponseWriter, r *http.Request) {
	f, code, msg := s.readRequest(w, r)
	if code != "" {
		s.page(w, http.StatusOK, pageData{Title: "交易失败", Message: msg + "（" + code + "）"})
		return
	}
	bad := func(field string) {
		s.page(w, http.StatusOK, pageData{Title: "交易失败", Message: "报文格式错误[" + field + "]（10）"})
	}
	switch {
	case f["txnType"] != "01" || f["txnSubType"] != "01":
		bad("txnType")
		return
	case f["bizType"] != "000201" || f["accessType"] != "0" || f["currencyCode"] != "156":
		bad("bizType/accessType/currencyCode")
		return
	case f["channelType"] != "07" && f["channelType"] != "08":
		bad("channelType")
		return
	case !orderIDPattern.MatchString(f["orderId"]):
		bad("orderId")
		return
	case !fenPattern.MatchString(f["txnAmt"]):
		bad("txnAmt")
		return
	}
	if _, err := time.ParseInLocation("20060102150405", f["txnTime"], beijing); err != nil {
		bad("txnTime")
		return
	}
	timeout, err := time.ParseInLocation("20060102150405", f["payTimeout"], beijing)
	if err != nil {
		bad("payTimeout")
		return
	}
	for _, k := range []string{"frontUrl", "backUrl"} {
		if u, err := url.Parse(f[k]); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			bad(k)
			return
		}
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	now := s.now()

	s.mu.Lock()
	k := key(f["merId"], f["orderId"], f["txnTime"])
	t := s.txns[k]
	if t == nil {
		t = &txn{txnType: "01", orderID: f["orderId"], txnTime: f["txnTime"], amount: amount,
			channelType: f["channelType"], frontURL: f["frontUrl"], backURL: f["backUrl"],
			payTimeout: timeout, state: stateWaiting, token: randomHex(16)}
		s.txns[k] = t
		s.tokens[t.token] = t
	} else if t.amount != amount || t.txnType != "01" {
		s.mu.Unlock()
		s.page(w, http.StatusOK, pageData{Title: "交易失败", Message: "重复交易（12）"})
		return
	}
	d := pageData{Title: "银联在线支付", Amount: yuan(t.amount), OrderID: t.orderID, Token: t.token,
		PayURL: s.base + "/pay", Merchant: s.merID}
	switch {
	case t.state == statePaid:
		d.Title, d.Message, d.Token = "订单已支付", "该订单已支付，无需重复支付。", ""
	case now.After(t.payTimeout):
		d.Title, d.Message, d.Token = "订单已超时", "订单已超过支付时限，无法支付。", ""
	}
	s.mu.Unlock()
	s.page(w, http.StatusOK, d)
}

// pay is the payer pressing 确认支付: the consume is paid, backUrl is notified, and the
// payer gets a page that posts the signed result to frontUrl.
func (s *Sim) pay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil {
		s.page(w, http.StatusBadRequest, pageData{Title: "交易失败", Message: "请求格式不正确"})
		return
	}
	now := s.now()
	s.mu.Lock()
	t := s.tokens[r.PostForm.Get("token")]
	switch {
	case t == nil:
		s.mu.Unlock()
		s.page(w, http.StatusNotFound, pageData{Title: "交易失败", Message: "订单不存在"})
		return
	case t.state == stateWaiting && now.After(t.payTimeout):
		s.mu.Unlock()
		s.page(w, http.StatusOK, pageData{Title: "订单已超时", Message: "订单已超过支付时限，无法支付。"})
		return
	case t.state == stateWaiting:
		t.state = statePaid
		s.stampLocked(t, now)
	}
	n := s.consumeFieldsLocked(t)
	signed := s.signLocked(n)
	s.mu.Unlock()
	s.send(t.backURL, n)
	s.page(w, http.StatusOK, pageData{Title: "支付成功", Message: "支付成功，金额 ¥" + yuan(t.amount) + "。",
		Action: t.frontURL, Fields: signed})
}

// consumeFieldsLocked is a consume's notification (unsigned; switches not yet applied).
func (s *Sim) consumeFieldsLocked(t *txn) map[string]string {
	return map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "bizType": "000201", "txnType": "01", "txnSubType": "01",
		"channelType": t.channelType, "accessType": "0", "currencyCode": "156", "merId": s.merID,
		"orderId": t.orderID, "txnTime": t.txnTime, "txnAmt": strconv.FormatInt(t.amount, 10),
		"queryId": t.queryID, "traceNo": t.traceNo, "traceTime": t.traceTime,
		"settleAmt": strconv.FormatInt(t.amount, 10), "settleCurrencyCode": "156",
		"settleDate": t.settleDay.Format("0102"), "respCode": "00", "respMsg": "成功[0000000]",
	}
}

// query answers queryTrans.do.
func (s *Sim) query(w http.ResponseWriter, r *http.Request) {
	f, code, msg := s.readRequest(w, r)
	if code != "" {
		s.refuse(w, code, msg)
		return
	}
	if f["txnType"] != "00" || !orderIDPattern.MatchString(f["orderId"]) || len(f["txnTime"]) != 14 {
		s.refuse(w, "10", "报文格式错误")
		return
	}
	now := s.now()
	s.mu.Lock()
	t := s.txns[key(f["merId"], f["orderId"], f["txnTime"])]
	if t == nil {
		s.mu.Unlock()
		s.answer(w, map[string]string{"txnType": "00", "txnSubType": "00", "bizType": "000201", "accessType": "0",
			"merId": f["merId"], "orderId": f["orderId"], "txnTime": f["txnTime"], "respCode": "34", "respMsg": "查无此交易"})
		return
	}
	a := map[string]string{"txnType": t.txnType, "txnSubType": "00", "bizType": "000201", "accessType": "0",
		"merId": s.merID, "orderId": t.orderID, "txnTime": t.txnTime, "txnAmt": strconv.FormatInt(t.amount, 10),
		"currencyCode": "156", "respCode": "00", "respMsg": "成功[0000000]"}
	if t.txnType == "01" {
		a["txnSubType"] = "01"
	}
	if t.queryID != "" {
		a["queryId"], a["traceNo"], a["traceTime"] = t.queryID, t.traceNo, t.traceTime
		a["settleDate"], a["settleAmt"], a["settleCurrencyCode"] = t.settleDay.Format("0102"), a["txnAmt"], "156"
	}
	if t.orig != nil {
		a["origQryId"] = t.orig.queryID
	}
	switch {
	case t.state == statePaid || t.state == stateSucceeded:
		a["origRespCode"], a["origRespMsg"] = "00", "成功[0000000]"
	case t.state == stateWaiting && now.After(t.payTimeout):
		a["origRespCode"], a["origRespMsg"] = "01", "交易失败[订单已超时]"
	default:
		a["origRespCode"], a["origRespMsg"] = "05", "交易已受理，请稍后查询交易结果"
	}
	s.applySwitchesLocked(a)
	s.mu.Unlock()
	s.answer(w, a)
}

// back handles refunds (04) and revokes (31) of a paid consume named by origQryId.
func (s *Sim) back(w http.ResponseWriter, r *http.Request) {
	f, code, msg := s.readRequest(w, r)
	if code != "" {
		s.refuse(w, code, msg)
		return
	}
	typ := f["txnType"]
	if (typ != "04" && typ != "31") || !orderIDPattern.MatchString(f["orderId"]) || !fenPattern.MatchString(f["txnAmt"]) {
		s.refuse(w, "10", "报文格式错误")
		return
	}
	if _, err := time.ParseInLocation("20060102150405", f["txnTime"], beijing); err != nil {
		s.refuse(w, "10", "报文格式错误[txnTime]")
		return
	}
	if b := f["backUrl"]; b != "" {
		if u, err := url.Parse(b); err != nil || u.Host == "" {
			s.refuse(w, "10", "报文格式错误[backUrl]")
			return
		}
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	now := s.now()
	a := map[string]string{"txnType": typ, "txnSubType": "00", "bizType": "000201", "accessType": "0",
		"merId": s.merID, "orderId": f["orderId"], "txnTime": f["txnTime"], "txnAmt": f["txnAmt"]}
	s.mu.Lock()
	k := key(f["merId"], f["orderId"], f["txnTime"])
	orig := s.byQuery[f["origQryId"]]
	switch {
	case s.txns[k] != nil:
		a["respCode"], a["respMsg"] = "12", "重复交易"
	case orig == nil || orig.txnType != "01" || orig.state != statePaid:
		a["respCode"], a["respMsg"] = "01", "交易失败[原交易不存在或状态不正确]"
	case orig.revoked:
		a["respCode"], a["respMsg"] = "01", "交易失败[原交易已撤销]"
	case typ == "31" && (amount != orig.amount || orig.refunded != 0):
		a["respCode"], a["respMsg"] = "01", "交易失败[撤销金额必须与原消费金额相同]"
	case typ == "31" && !orig.settleDay.Equal(businessDay(now)):
		a["respCode"], a["respMsg"] = "01", "交易失败[原交易已清算，不能撤销，请发起退货]"
	case typ == "04" && amount > orig.amount-orig.refunded:
		a["respCode"], a["respMsg"] = "01", "交易失败[退货金额超限]"
	default:
		t := &txn{txnType: typ, orderID: f["orderId"], txnTime: f["txnTime"], amount: amount,
			backURL: f["backUrl"], state: stateProcessing, orig: orig}
		s.stampLocked(t, now)
		s.txns[k] = t
		orig.refunded += amount
		orig.revoked = typ == "31"
		a["respCode"], a["respMsg"], a["queryId"] = "00", "成功[0000000]", t.queryID
		a["origQryId"] = orig.queryID
		if !s.switches.HoldRefunds {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.mu.Lock()
				n := s.finishLocked(t)
				s.mu.Unlock()
				if n != nil {
					s.send(t.backURL, n)
				}
			}()
		}
	}
	s.mu.Unlock()
	s.answer(w, a)
}

// finishLocked completes a processing refund and returns its notification (nil if it was
// not processing or has nowhere to go).
func (s *Sim) finishLocked(t *txn) map[string]string {
	if t.state != stateProcessing {
		return nil
	}
	t.state = stateSucceeded
	if t.backURL == "" {
		return nil
	}
	return map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "bizType": "000201", "txnType": t.txnType, "txnSubType": "00",
		"accessType": "0", "merId": s.merID, "orderId": t.orderID, "txnTime": t.txnTime,
		"txnAmt": strconv.FormatInt(t.amount, 10), "currencyCode": "156", "queryId": t.queryID,
		"origQryId": t.orig.queryID, "traceNo": t.traceNo, "traceTime": t.traceTime,
		"settleDate": t.settleDay.Format("0102"), "settleAmt": strconv.FormatInt(t.amount, 10),
		"settleCurrencyCode": "156", "respCode": "00", "respMsg": "成功[0000000]",
	}
}

// FinishRefunds completes every refund and revoke still processing (used with the
// HoldRefunds switch) and notifies each; it returns how many it finished.
func (s *Sim) FinishRefunds() int {
	s.mu.Lock()
	var out []struct {
		url string
		n   map[string]string
	}
	count := 0
	for _, t := range s.txns {
		if t.state != stateProcessing {
			continue
		}
		count++
		if n := s.finishLocked(t); n != nil {
			out = append(out, struct {
				url string
				n   map[string]string
			}{t.backURL, n})
		}
	}
	s.mu.Unlock()
	for _, o := range out {
		s.send(o.url, o.n)
	}
	return count
}
