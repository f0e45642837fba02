package alipay

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

type bill struct {
	zip     []byte
	expires time.Time
}

// billLine is one row of the detail file, amounts as written (refunds negative).
type billLine struct {
	tradeNo, outTradeNo, kind, subject string
	created, finished                  time.Time
	amountFen, feeFen                  int64 // feeFen as written: negative when charged
	refundNo                           string
}

// serviceFee is the fake's fee: 0.6% of the amount, rounded half up, in fen.
func serviceFee(fen int64) int64 { return (fen*6 + 500) / 1000 }

// billURL answers alipay.data.dataservice.bill.downloadurl.query with an address valid 30 s.
func (s *Sim) billURL(r *http.Request, req request) answer {
	if req.str("bill_type") != "trade" {
		return bizError("isp.bill_type_not_support", "不支持的账单类型")
	}
	day, err := time.ParseInLocation("2006-01-02", req.str("bill_date"), shanghai)
	if err != nil {
		return bizError("isv.invalid-bill-date", "账单日期格式不正确")
	}
	if !s.now().After(day.Add(24 * time.Hour)) {
		return bizError("isp.bill_not_exist", "账单不存在")
	}
	lines := s.billLines(day)
	if len(lines) == 0 {
		return bizError("isp.bill_not_exist", "账单不存在")
	}
	z, err := s.buildBill(day, lines)
	if err != nil {
		return answer{inner: map[string]any{"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}, signed: true}
	}
	token := hex.EncodeToString(randomBytes(16))
	s.mu.Lock()
	s.bills[token] = bill{zip: z, expires: s.now().Add(billValidity)}
	s.mu.Unlock()
	return ok(map[string]any{"bill_download_url": s.absolute(r, "/bill/"+token)})
}

// billDownload handles GET /bill/{token}.
func (s *Sim) billDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, found := s.bills[r.PathValue("token")]
	s.mu.Unlock()
	if !found || s.now().After(b.expires) {
		http.Error(w, "链接已失效", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b.zip)
}

// billLines are the payments and refunds of one Beijing day.
func (s *Sim) billLines(day time.Time) []billLine {
	end := day.Add(24 * time.Hour)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(end) }
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []billLine
	for _, t := range s.trades {
		if in(t.paid) {
			out = append(out, billLine{tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, kind: "交易", subject: t.subject,
				created: t.created, finished: t.paid, amountFen: t.amountFen, feeFen: -serviceFee(t.amountFen)})
		}
		for _, r := range t.refunds {
			if in(r.at) {
				out = append(out, billLine{tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, kind: "退款", subject: t.subject,
					created: r.at, finished: r.at, amountFen: -r.amountFen, feeFen: serviceFee(r.amountFen), refundNo: r.outRequestNo})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].finished.Before(out[j].finished) })
	return out
}

var detailHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
	"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
	"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

var summaryHeader = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）," +
	"商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"

// buildBill writes the trade bill zip: the detail and summary CSVs in GBK, with GBK entry
// names and no UTF-8 flag, as Alipay serves them.
func (s *Sim) buildBill(day time.Time, lines []billLine) ([]byte, error) {
	sw := s.Switches()
	date := day.Format("20060102")
	head := func(title string) string {
		return "#支付宝" + title + "查询\r\n" +
			"#账号：[" + s.sellerID + "0156]\r\n" +
			"#起始日期：[" + day.Format("2006年01月02日 15:04:05") + "]   终止日期：[" + day.Add(24*time.Hour).Format("2006年01月02日 15:04:05") + "]\r\n" +
			"#-----------------------------------------" + title + "列表----------------------------------------\r\n"
	}
	exported := "#导出时间：[" + s.now().In(shanghai).Format("2006年01月02日 15:04:05") + "]\r\n"

	var d strings.Builder
	d.WriteString(head("业务明细"))
	d.WriteString(detailHeader + "\r\n")
	var payments, refunds int
	var sumAmount, sumFee int64
	for _, l := range lines {
		if l.kind == "交易" {
			payments++
		} else {
			refunds++
		}
		sumAmount += l.amountFen
		sumFee += l.feeFen
		cols := []string{l.tradeNo, l.outTradeNo, l.kind, strings.ReplaceAll(l.subject, ",", "，"),
			l.created.In(shanghai).Format(wireTime), l.finished.In(shanghai).Format(wireTime), "", "", "", "",
			"stu***@example.edu.cn", yuan(l.amountFen), yuan(l.amountFen), "0.00", "0.00", "0.00", "0.00", "0.00", "",
			"0.00", "0.00", l.refundNo, yuan(l.feeFen), "0.00", ""}
		d.WriteString(strings.Join(cols, "\t,") + "\t\r\n")
	}
	d.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
	d.WriteString(fmt.Sprintf("#交易合计：%d笔，退款合计：%d笔\r\n", payments, refunds))
	d.WriteString(exported)

	reported := sumAmount
	if sw.TamperStatement {
		reported++
	}
	var sm strings.Builder
	sm.WriteString(head("业务汇总"))
	sm.WriteString(summaryHeader + "\r\n")
	sm.WriteString(fmt.Sprintf("合计,,%d,%d,%s,%s,0.00,0.00,0.00,%s,0.00,%s\r\n", payments, refunds,
		yuan(reported), yuan(sumAmount), yuan(sumFee), yuan(sumAmount+sumFee)))
	sm.WriteString("#-----------------------------------------业务汇总列表结束------------------------------------\r\n")
	sm.WriteString(exported)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	prefix := s.sellerID + "0156_" + date
	for _, e := range []struct{ name, body string }{
		{prefix + "_业务明细.csv", d.String()},
		{prefix + "_业务明细(汇总).csv", sm.String()},
	} {
		name, err := simplifiedchinese.GBK.NewEncoder().String(e.name)
		if err != nil {
			return nil, err
		}
		body, err := simplifiedchinese.GBK.NewEncoder().String(e.body)
		if err != nil {
			return nil, err
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true, Modified: s.now()})
		if err != nil {
			return nil, err
		}
		if _, err := f.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
