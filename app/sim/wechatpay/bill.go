package wechatpay

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Sim) certificates(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.authenticate(w, r); !ok {
		return
	}
	s.mu.Lock()
	certs := append([]*platformCert(nil), s.certs...)
	s.mu.Unlock()
	var data []map[string]any
	now := s.now()
	for _, c := range certs {
		if now.After(c.until) {
			continue
		}
		data = append(data, map[string]any{
			"serial_no":           c.serial,
			"effective_time":      c.from.In(shanghai).Format(time.RFC3339),
			"expire_time":         c.until.In(shanghai).Format(time.RFC3339),
			"encrypt_certificate": s.encrypt([]byte(c.pem), "certificate"),
		})
	}
	body := map[string]any{"data": data}
	// The list is always signed by the newest platform certificate, whatever the mode.
	newest := certs[len(certs)-1]
	raw, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	signWith(w.Header(), raw, newest.serial, newest.key, now)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
}

// apiHost is WeChat Pay's API host, as the real download_url names it.
const apiHost = "https://api.mch.weixin.qq.com"

// The trade bill's 27 columns (bill_type ALL).
var billHeader = []string{"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
	"用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号",
	"商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率",
	"订单金额", "申请退款金额", "费率备注"}

var billSummaryHeader = []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额",
	"订单总金额", "申请退款总金额"}

// feeFen is the fake's fee: 0.6 %, rounded half up, in integers.
func feeFen(amount int64) int64 { return (amount*6 + 500) / 1000 }

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(fen%100/10, 10) + strconv.FormatInt(fen%10, 10)
}

// Bill renders the trade bill of one Shanghai day for a collecting merchant, as WeChat
// does: paid trades by their payment time, successful refunds by their refund time.
func (s *Sim) Bill(mchID string, day time.Time) []byte {
	s.mu.Lock()
	sw := s.switches
	d := day.In(shanghai).Format("2006-01-02")
	type row struct {
		at  time.Time
		val []string
	}
	var rows []row
	var settled, refunded, fees, ordered, asked int64
	for _, t := range s.trades {
		if t.collecting() != mchID || t.transactionID == "" {
			continue
		}
		app := t.appID
		sub := ""
		if t.partner {
			app, sub = t.spAppID, t.subMchID
		}
		base := func(at time.Time) []string {
			v := make([]string, len(billHeader))
			v[0] = at.In(shanghai).Format("2006-01-02 15:04:05")
			v[1], v[2], v[3], v[4] = app, s.mchID, sub, ""
			v[5], v[6], v[7], v[8] = t.transactionID, t.outTradeNo, t.openID, t.tradeType
			v[10], v[11], v[13] = "OTHERS", "CNY", "0.00"
			v[20], v[21], v[23], v[26] = t.description, "", "0.60%", ""
			return v
		}
		if t.paidAt.In(shanghai).Format("2006-01-02") == d {
			v := base(t.paidAt)
			fee := feeFen(t.total)
			v[9], v[12], v[14], v[15], v[16], v[17], v[18], v[19] = "SUCCESS", yuan(t.total), "0", "0", "0.00", "0.00", "", ""
			v[22], v[24], v[25] = yuan(fee), yuan(t.total), "0.00"
			settled += t.total
			ordered += t.total
			fees += fee
			rows = append(rows, row{t.paidAt, v})
		}
		for _, rf := range s.refunds {
			if rf.t != t || rf.status != RefundSuccess || rf.settledAt.In(shanghai).Format("2006-01-02") != d {
				continue
			}
			v := base(rf.settledAt)
			fee := -feeFen(rf.amount)
			v[9], v[12], v[14], v[15], v[16], v[17], v[18], v[19] = "REFUND", yuan(t.total), rf.refundID, rf.outRefundNo,
				yuan(rf.amount), "0.00", "ORIGINAL", "SUCCESS"
			v[22], v[24], v[25] = yuan(fee), yuan(t.total), yuan(rf.amount)
			refunded += rf.amount
			asked += rf.amount
			fees += fee
			rows = append(rows, row{rf.settledAt, v})
		}
	}
	s.mu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	if sw.BillTamper == "totals" {
		settled++
	}
	var b strings.Builder
	if sw.BillBOM {
		b.WriteString("\uFEFF")
	}
	b.WriteString(strings.Join(billHeader, ",") + "\r\n")
	for _, r := range rows {
		b.WriteString("`" + strings.Join(r.val, ",`") + "\r\n")
	}
	b.WriteString(strings.Join(billSummaryHeader, ",") + "\r\n")
	sum := []string{strconv.Itoa(len(rows)), yuan(settled), yuan(refunded), "0.00", yuan(fees), yuan(ordered), yuan(asked)}
	b.WriteString("`" + strings.Join(sum, ",`") + "\r\n")
	return []byte(b.String())
}

func (s *Sim) tradeBill(w http.ResponseWriter, r *http.Request) {
	auth, _, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	day, err := time.ParseInLocation("2006-01-02", q.Get("bill_date"), shanghai)
	if err != nil {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date 格式应为 yyyy-MM-dd")
		return
	}
	if tar := q.Get("tar_type"); tar != "" && tar != "GZIP" {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "tar_type 只能为 GZIP")
		return
	}
	collecting := auth
	if sub := q.Get("sub_mchid"); sub != "" {
		if sub != s.subMchID {
			refuse(w, http.StatusBadRequest, "PARAM_ERROR", "特约商户号sub_mchid不存在或未与服务商建立关系")
			return
		}
		collecting = sub
	}
	// WeChat serves a day's bill from 10:00 the next morning; the fake serves today's
	// too (what it knows so far) so that a demo can reconcile at once.
	if q.Get("bill_date") > s.now().In(shanghai).Format("2006-01-02") {
		refuse(w, http.StatusBadRequest, "PARAM_ERROR", "账单日期不能晚于今天")
		return
	}
	plain := s.Bill(collecting, day)
	if strings.Count(string(plain), "\n") <= 3 {
		refuse(w, http.StatusBadRequest, "NO_STATEMENT_EXIST", "要下载的账单不存在")
		return
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	sum := sha1.Sum(plain)
	hash := hex.EncodeToString(sum[:])
	s.mu.Lock()
	if s.switches.BillTamper == "hash" {
		hash = strings.Repeat("0", 40)
	}
	token := randomHex(16)
	s.bills[token] = gz.Bytes()
	s.mu.Unlock()
	s.answer(w, http.StatusOK, map[string]string{
		"hash_type": "SHA1", "hash_value": hash,
		// As WeChat does, the address names WeChat's API host; a client that sends its API
		// requests to this fake sends the download here too.
		"download_url": apiHost + "/v3/billdownload/file?" + url.Values{"token": {token}, "tartype": {"gzip"}}.Encode(),
	})
}

// billDownload serves a bill file: the request is signed, the answer is not.
func (s *Sim) billDownload(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.authenticate(w, r); !ok {
		return
	}
	s.mu.Lock()
	data, ok := s.bills[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok {
		refuse(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "下载地址已失效")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}
