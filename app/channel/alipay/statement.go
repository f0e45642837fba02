package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"campuspay/app/channel"
)

// The statement is Alipay's daily trade bill (bill_type trade): a zip holding
// "<PID>_<yyyyMMdd>_业务明细.csv" (every payment and refund) and
// "<PID>_<yyyyMMdd>_业务明细(汇总).csv" (the totals), both GBK, with entry names in GBK
// and no UTF-8 flag.

// DetailHeader is the 25 columns of the detail file.
var DetailHeader = []string{
	"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称",
	"操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）",
	"支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）",
	"卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注",
}

// SummaryHeader is the 12 columns of the summary file.
var SummaryHeader = []string{
	"门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）",
	"支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
}

// Column positions in DetailHeader.
const (
	colTradeNo     = 0
	colOutTradeNo  = 1
	colType        = 2
	colCreated     = 4
	colFinished    = 5
	colAmount      = 11
	colReceived    = 12
	colRefundNo    = 21
	colFee         = 22
	maxZipEntries  = 8
	billReadyAfter = 34 * time.Hour // Alipay publishes day D's bill by 10:00 on D+1
)

var (
	footerCounts = regexp.MustCompile(`^#交易合计：(\d{1,9})笔，退款合计：(\d{1,9})笔`)
	startDate    = regexp.MustCompile(`^#起始日期：\[(\d{4})年(\d{2})月(\d{2})日 00:00:00\]`)
)

// Statement fetches the trade bill of one business day (Asia/Shanghai), downloads the zip
// from the address Alipay gives, and parses it. Alipay answers BILL_NOT_EXIST both for a
// day without trades and for a bill not yet published: once the bill is due (10:00 the
// next day) that answer is an empty statement; before, it is an error to try again later.
func (p *provider) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	d := day.In(shanghai)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, shanghai)
	date := start.Format("2006-01-02")
	op := "statement " + date
	rsp, err := p.client.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{AppAuthToken: p.set.appAuthToken, BillType: "trade", BillDate: date})
	if err != nil {
		return channel.Statement{}, p.callError(op, err)
	}
	if !rsp.Code.IsSuccess() {
		sub := strings.ToUpper(rsp.SubCode)
		if strings.Contains(sub, "BILL_NOT_EXIST") || strings.Contains(sub, "NO_BILL_DATA") {
			if p.now().Before(start.Add(billReadyAfter)) {
				return channel.Statement{}, fmt.Errorf("alipay: %s: the bill is not published yet (Alipay publishes it by 10:00 the next day): %w", op, channel.ErrUnavailable)
			}
			return channel.Statement{FileName: "", Lines: []channel.StatementLine{}}, nil
		}
		return channel.Statement{}, businessError(op, rsp.Error)
	}
	u, err := p.downloadURL(rsp.BillDownloadURL)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("alipay: %s: %w: %w", op, err, channel.ErrUnavailable)
	}
	raw, err := p.download(ctx, u)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("alipay: %s: download: %w: %w", op, err, channel.ErrUnavailable)
	}
	lines, err := ParseStatement(raw, start)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("alipay: %s: %w", op, err)
	}
	name := fmt.Sprintf("alipay_%s_%s.csv.zip", p.set.appID, start.Format("20060102"))
	return channel.Statement{FileName: name, Raw: raw, Lines: lines}, nil
}

// downloadURL accepts the bill address only on the gateway's own host or, with https, on
// an alipay.com host: the address comes from an answer, and the platform must not be
// sent to fetch from just anywhere.
func (p *provider) downloadURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.User != nil {
		return nil, fmt.Errorf("bill_download_url %q is not an address", s)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == p.set.gateway.Scheme && u.Host == p.set.gateway.Host:
	case u.Scheme == "https" && strings.HasSuffix(host, ".alipay.com"):
	default:
		return nil, fmt.Errorf("bill_download_url host %q is neither the gateway's nor Alipay's", u.Host)
	}
	return u, nil
}

func (p *provider) download(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return readLimited(resp.Body, maxStatementZip)
}

// ParseStatement reads a trade bill zip for the business day that starts at day (Beijing
// midnight) and returns its lines, after checking the file against itself: the header,
// the day, every line, the footer counts and the summary file's totals. Any disagreement
// refuses the whole file with an error wrapping channel.ErrMalformed.
func ParseStatement(raw []byte, day time.Time) ([]channel.StatementLine, error) {
	malformed := func(format string, args ...any) ([]channel.StatementLine, error) {
		return nil, fmt.Errorf("alipay: statement: "+format+": %w", append(args, channel.ErrMalformed)...)
	}
	detail, summary, err := unzipBill(raw)
	if err != nil {
		return malformed("%v", err)
	}
	d := day.In(shanghai)

	// The detail file.
	head, rows, foot, err := splitBill(detail, DetailHeader)
	if err != nil {
		return malformed("detail: %v", err)
	}
	if err := checkDay(head, d); err != nil {
		return malformed("detail: %v", err)
	}
	var lines []channel.StatementLine
	var payments, refunds int
	var sumAmount, sumReceived, sumFee int64
	for i, r := range rows {
		line, amount, received, fee, err := detailLine(r)
		if err != nil {
			return malformed("detail line %d: %v", i+1, err)
		}
		if line.At.Before(d) || !line.At.Before(d.AddDate(0, 0, 1)) {
			return malformed("detail line %d: completed %s, outside the day", i+1, line.At.In(shanghai).Format(wireTime))
		}
		if line.Kind == channel.StatementPayment {
			payments++
		} else {
			refunds++
		}
		sumAmount += amount
		sumReceived += received
		sumFee += fee
		lines = append(lines, line)
	}
	counted := false
	for _, f := range foot {
		if m := footerCounts.FindStringSubmatch(f); m != nil {
			if m[1] != strconv.Itoa(payments) || m[2] != strconv.Itoa(refunds) {
				return malformed("footer counts %s payments and %s refunds, the lines hold %d and %d", m[1], m[2], payments, refunds)
			}
			counted = true
		}
	}
	if !counted {
		return malformed("detail footer without #交易合计")
	}

	// The summary file's total row.
	shead, srows, _, err := splitBill(summary, SummaryHeader)
	if err != nil {
		return malformed("summary: %v", err)
	}
	if err := checkDay(shead, d); err != nil {
		return malformed("summary: %v", err)
	}
	var total []string
	for _, r := range srows {
		if r[0] == "合计" {
			if total != nil {
				return malformed("summary has two 合计 rows")
			}
			total = r
		}
	}
	if total == nil {
		return malformed("summary without a 合计 row")
	}
	want := []struct {
		col  int
		name string
		got  int64
	}{{4, "订单金额", sumAmount}, {5, "商家实收", sumReceived}, {9, "服务费", sumFee}}
	if total[2] != strconv.Itoa(payments) || total[3] != strconv.Itoa(refunds) {
		return malformed("summary counts %s payments and %s refunds, the lines hold %d and %d", total[2], total[3], payments, refunds)
	}
	for _, w := range want {
		v, err := parseSignedYuan(total[w.col])
		if err != nil {
			return malformed("summary %s %q", w.name, total[w.col])
		}
		if v != w.got {
			return malformed("summary %s total is %s, the lines add up to %d fen", w.name, total[w.col], w.got)
		}
	}
	if lines == nil {
		lines = []channel.StatementLine{}
	}
	return lines, nil
}

// unzipBill finds the detail and summary entries of a bill zip and returns them decoded
// from GBK. Every entry is read within maxStatementEntry, whatever its header claims.
func unzipBill(raw []byte) (detail, summary string, err error) {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return "", "", fmt.Errorf("not a zip: %v", err)
	}
	if len(zr.File) > maxZipEntries {
		return "", "", fmt.Errorf("zip has %d entries", len(zr.File))
	}
	var gotDetail, gotSummary bool
	for _, f := range zr.File {
		name := f.Name
		if f.Flags&0x800 == 0 { // no UTF-8 flag: Alipay writes GBK names
			if name, err = fromGBK([]byte(f.Name)); err != nil {
				return "", "", fmt.Errorf("entry name: %v", err)
			}
		}
		var dst *string
		switch {
		case strings.HasSuffix(name, "_业务明细(汇总).csv"):
			if gotSummary {
				return "", "", errors.New("two summary entries")
			}
			gotSummary, dst = true, &summary
		case strings.HasSuffix(name, "_业务明细.csv"):
			if gotDetail {
				return "", "", errors.New("two detail entries")
			}
			gotDetail, dst = true, &detail
		default:
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", "", fmt.Errorf("entry %q: %v", name, err)
		}
		b, err := readLimited(rc, maxStatementEntry)
		rc.Close()
		if err != nil {
			return "", "", fmt.Errorf("entry %q: %v", name, err)
		}
		if *dst, err = fromGBK(b); err != nil {
			return "", "", fmt.Errorf("entry %q: %v", name, err)
		}
	}
	if !gotDetail || !gotSummary {
		return "", "", errors.New("zip lacks the 业务明细 or 业务明细(汇总) file")
	}
	return detail, summary, nil
}

// fromGBK decodes GBK text, refusing bytes that are not GBK.
func fromGBK(b []byte) (string, error) {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", err
	}
	if bytes.ContainsRune(s, '\uFFFD') {
		return "", errors.New("text is not GBK")
	}
	return string(s), nil
}

// splitBill separates a bill file into its leading # lines, its data rows (the header
// checked against want and removed, values trimmed of Alipay's tab padding) and its
// trailing # lines.
func splitBill(text string, want []string) (head []string, rows [][]string, foot []string, err error) {
	var data []string
	state := 0 // 0: head, 1: data, 2: foot
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		comment := strings.HasPrefix(l, "#")
		switch {
		case state == 0 && comment:
			head = append(head, l)
		case state == 2 && !comment:
			return nil, nil, nil, errors.New("data after the footer")
		case comment:
			state = 2
			foot = append(foot, l)
		default:
			state = 1
			data = append(data, l)
		}
	}
	if len(data) == 0 {
		return nil, nil, nil, errors.New("no header row")
	}
	r := csv.NewReader(strings.NewReader(strings.Join(data, "\n")))
	r.FieldsPerRecord = len(want)
	r.ReuseRecord = false
	all, err := r.ReadAll()
	if err != nil {
		return nil, nil, nil, err
	}
	for i, v := range all[0] {
		if strings.TrimSpace(v) != want[i] {
			return nil, nil, nil, fmt.Errorf("header column %d is %q, want %q", i+1, strings.TrimSpace(v), want[i])
		}
	}
	rows = all[1:]
	for _, row := range rows {
		for i := range row {
			row[i] = strings.TrimSpace(row[i])
		}
	}
	return head, rows, foot, nil
}

// checkDay finds "#起始日期：[yyyy年MM月dd日 00:00:00]" among the header lines and
// compares it with the business day asked for.
func checkDay(head []string, d time.Time) error {
	for _, h := range head {
		if m := startDate.FindStringSubmatch(h); m != nil {
			if got, want := m[1]+"-"+m[2]+"-"+m[3], d.Format("2006-01-02"); got != want {
				return fmt.Errorf("file is for %s, asked for %s", got, want)
			}
			return nil
		}
	}
	return errors.New("no #起始日期 line")
}

// detailLine reads one detail row. It returns the line and the signed amounts the totals
// are made of: 订单金额, 商家实收 and 服务费 as written.
func detailLine(r []string) (line channel.StatementLine, amount, received, fee int64, err error) {
	fail := func(format string, args ...any) (channel.StatementLine, int64, int64, int64, error) {
		return channel.StatementLine{}, 0, 0, 0, fmt.Errorf(format, args...)
	}
	line = channel.StatementLine{TradeNo: r[colTradeNo], AttemptNo: r[colOutTradeNo]}
	if line.TradeNo == "" || len(line.TradeNo) > 64 {
		return fail("支付宝交易号 %q", line.TradeNo)
	}
	if !attemptNoPattern.MatchString(line.AttemptNo) {
		return fail("商户订单号 %q", line.AttemptNo)
	}
	if amount, err = parseSignedYuan(r[colAmount]); err != nil {
		return fail("订单金额: %v", err)
	}
	if received, err = parseSignedYuan(r[colReceived]); err != nil {
		return fail("商家实收: %v", err)
	}
	if fee, err = parseSignedYuan(r[colFee]); err != nil {
		return fail("服务费: %v", err)
	}
	at := r[colFinished]
	if at == "" {
		at = r[colCreated]
	}
	if line.At, err = parseWireTime(at); err != nil {
		return fail("完成时间 %q", at)
	}
	line.FeeFen = -fee // Alipay writes the fee it charges as negative, the fee it returns as positive
	switch r[colType] {
	case "交易":
		if amount <= 0 || r[colRefundNo] != "" {
			return fail("payment of %s with refund number %q", r[colAmount], r[colRefundNo])
		}
		line.Kind, line.AmountFen = channel.StatementPayment, amount
	case "退款":
		if amount >= 0 || !refundNoPattern.MatchString(r[colRefundNo]) {
			return fail("refund of %s with refund number %q", r[colAmount], r[colRefundNo])
		}
		line.Kind, line.AmountFen, line.RefundNo = channel.StatementRefund, -amount, r[colRefundNo]
	default:
		return fail("业务类型 %q", r[colType])
	}
	return line, amount, received, fee, nil
}
