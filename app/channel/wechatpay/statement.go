package wechatpay

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"campuspay/app/channel"
	"campuspay/app/money"
)

// ErrBadStatement is a trade bill that must not be reconciled: its hash, header or totals
// do not hold.
var ErrBadStatement = errors.New("wechatpay: statement refused")

type billAnswer struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// Statement requests the trade bill of one business day (Asia/Shanghai), downloads it,
// checks its SHA1 against hash_value, gunzips it and parses it into lines checked against
// the bill's own summary row. A day without any trade has no bill: an empty Statement.
func (p *provider) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	date := day.In(shanghai).Format("2006-01-02")
	q := url.Values{"bill_date": {date}, "bill_type": {"ALL"}, "tar_type": {"GZIP"}}
	if p.c.partner {
		q.Set("sub_mchid", p.c.subMchID)
	}
	name := "wechatpay-tradebill-" + p.c.collectingMchID() + "-" + date + ".csv.gz"
	var ans billAnswer
	err := p.call(ctx, "申请交易账单", http.MethodGet, "/v3/bill/tradebill", q, nil, &ans)
	var api *APIError
	if errors.As(err, &api) {
		switch api.Code {
		case "NO_STATEMENT_EXIST":
			return channel.Statement{FileName: name}, nil
		case "STATEMENT_CREATING":
			return channel.Statement{}, fmt.Errorf("%w: 微信支付 %s 的交易账单尚在生成，请次日上午 10 点后再试", channel.ErrUnavailable, date)
		}
	}
	if err != nil {
		return channel.Statement{}, err
	}
	if ans.HashType != "SHA1" || len(ans.HashValue) != 40 {
		return channel.Statement{}, fmt.Errorf("%w: 账单摘要类型 %q 不受支持", ErrBadStatement, ans.HashType)
	}
	u, err := url.Parse(ans.DownloadURL)
	if err != nil || u.Path == "" {
		return channel.Statement{}, fmt.Errorf("%w: 微信支付账单下载地址无效", channel.ErrUnavailable)
	}
	// Only the path and query are taken: the request goes to the configured API host
	// whatever host the answer names.
	res, err := p.raw.Request(ctx, http.MethodGet, consts.WechatPayAPIServer+u.EscapedPath(), nil, u.Query(), nil, "")
	if err != nil {
		return channel.Statement{}, p.fail("下载交易账单", err)
	}
	defer res.Response.Body.Close()
	gz, err := io.ReadAll(res.Response.Body)
	if err != nil {
		return channel.Statement{}, p.fail("下载交易账单", err)
	}
	plain, err := gunzip(gz, maxBillBytes)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("%w: %s 的账单无法解压（%v）", ErrBadStatement, date, err)
	}
	sum := sha1.Sum(plain)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), ans.HashValue) {
		return channel.Statement{}, fmt.Errorf("%w: %s 的账单 SHA1 与微信支付给出的摘要不符，文件可能被篡改或下载不完整", ErrBadStatement, date)
	}
	lines, err := ParseTradeBill(plain)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("%s: %w", date, err)
	}
	return channel.Statement{FileName: name, Raw: gz, Lines: lines}, nil
}

func gunzip(data []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("more than %d bytes once decompressed", limit)
	}
	return out, nil
}

// The columns of the trade bill the parser reads (of 27).
var billHeaderStart = []string{"交易时间", "公众账号ID", "商户号", "特约商户号"}

const billColumns = 27

// ParseTradeBill reads a decompressed trade bill (bill_type ALL): a 27-column header, rows
// whose every value is prefixed with a backtick, then the summary header
// (总交易单数,应结订单总金额,退款总金额,…) and its row, which must agree with the rows. A
// BOM and CRLF line ends are accepted. SUCCESS rows become payment lines, REFUND rows refund
// lines; REVOKED rows are counted but carry no money.
func ParseTradeBill(data []byte) ([]channel.StatementLine, error) {
	bad := func(format string, a ...any) ([]channel.StatementLine, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadStatement}, a...)...)
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	raw := strings.Split(text, "\n")
	var rows []string
	for _, l := range raw {
		rows = append(rows, strings.TrimSuffix(l, "\r"))
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	if len(rows) < 3 {
		return bad("账单不完整：缺少表头或汇总行")
	}
	header := strings.Split(rows[0], ",")
	if len(header) != billColumns {
		return bad("表头有 %d 列，应为 %d 列", len(header), billColumns)
	}
	for i, name := range billHeaderStart {
		if strings.TrimSpace(header[i]) != name {
			return bad("表头第 %d 列为 %q，应为 %q", i+1, header[i], name)
		}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	need := []string{"交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额", "微信退款单号",
		"商户退款单号", "退款金额", "手续费", "订单金额", "申请退款金额"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return bad("表头缺少 %q 列", n)
		}
	}

	summaryAt := -1
	for i := 1; i < len(rows); i++ {
		if strings.HasPrefix(rows[i], "总交易单数,") {
			summaryAt = i
			break
		}
	}
	if summaryAt < 0 || summaryAt+1 >= len(rows) {
		return bad("缺少汇总表头或汇总行")
	}
	for _, r := range rows[summaryAt+2:] {
		if strings.TrimSpace(r) != "" {
			return bad("汇总行之后还有内容")
		}
	}

	var lines []channel.StatementLine
	var settled, refunded, fees, ordered, asked int64
	count := 0
	for i := 1; i < summaryAt; i++ {
		if rows[i] == "" {
			return bad("第 %d 行为空行", i+1)
		}
		v, err := splitBacktick(rows[i], billColumns)
		if err != nil {
			return bad("第 %d 行：%v", i+1, err)
		}
		count++
		get := func(name string) string { return v[col[name]] }
		amount := func(name string) (int64, error) {
			f, err := parseYuan(get(name))
			if err != nil {
				return 0, fmt.Errorf("第 %d 行 %s %q：%w", i+1, name, get(name), err)
			}
			return f, nil
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", get("交易时间"), shanghai)
		if err != nil {
			return bad("第 %d 行交易时间 %q 无法解析", i+1, get("交易时间"))
		}
		fee, err := amount("手续费")
		if err != nil {
			return bad("%v", err)
		}
		fees += fee
		line := channel.StatementLine{AttemptNo: get("商户订单号"), TradeNo: get("微信订单号"), FeeFen: fee, At: at.UTC()}
		if line.AttemptNo == "" || line.TradeNo == "" {
			return bad("第 %d 行缺少商户订单号或微信订单号", i+1)
		}
		switch get("交易状态") {
		case "SUCCESS":
			s, err := amount("应结订单金额")
			if err != nil {
				return bad("%v", err)
			}
			o, err := amount("订单金额")
			if err != nil {
				return bad("%v", err)
			}
			if s < 0 || o <= 0 {
				return bad("第 %d 行金额不是正数", i+1)
			}
			settled += s
			ordered += o
			line.Kind, line.AmountFen = channel.StatementPayment, o
		case "REFUND":
			r, err := amount("退款金额")
			if err != nil {
				return bad("%v", err)
			}
			a, err := amount("申请退款金额")
			if err != nil {
				return bad("%v", err)
			}
			if r < 0 || a <= 0 {
				return bad("第 %d 行退款金额不是正数", i+1)
			}
			refunded += r
			asked += a
			line.Kind, line.AmountFen = channel.StatementRefund, a
			line.RefundNo, line.ChannelRefundNo = get("商户退款单号"), get("微信退款单号")
			if line.RefundNo == "" || line.ChannelRefundNo == "" {
				return bad("第 %d 行退款缺少退款单号", i+1)
			}
		case "REVOKED":
			continue
		default:
			return bad("第 %d 行交易状态 %q 未知", i+1, get("交易状态"))
		}
		lines = append(lines, line)
	}

	sumHeader := strings.Split(rows[summaryAt], ",")
	sv, err := splitBacktick(rows[summaryAt+1], len(sumHeader))
	if err != nil {
		return bad("汇总行：%v", err)
	}
	checks := map[string]int64{"应结订单总金额": settled, "退款总金额": refunded, "手续费总金额": fees,
		"订单总金额": ordered, "申请退款总金额": asked}
	seen := 0
	for i, h := range sumHeader {
		h = strings.TrimSpace(h)
		if h == "总交易单数" {
			n, err := strconv.Atoi(sv[i])
			if err != nil || n != count {
				return bad("汇总总交易单数 %q 与明细 %d 笔不符", sv[i], count)
			}
			seen++
			continue
		}
		want, ok := checks[h]
		if !ok {
			continue
		}
		got, err := parseYuan(sv[i])
		if err != nil {
			return bad("汇总 %s %q：%v", h, sv[i], err)
		}
		if got != want {
			return bad("汇总 %s 为 %s 元，明细合计 %s 元", h, money.Plain(got), money.Plain(want))
		}
		seen++
	}
	if seen < 3 {
		return bad("汇总表头缺少总交易单数、应结订单总金额或退款总金额")
	}
	return lines, nil
}

// splitBacktick splits a bill row whose every value starts with a backtick.
func splitBacktick(row string, n int) ([]string, error) {
	if !strings.HasPrefix(row, "`") {
		return nil, errors.New("值没有以 ` 开头")
	}
	v := strings.Split(row[1:], ",`")
	if len(v) != n {
		return nil, fmt.Errorf("有 %d 个值，应为 %d 个", len(v), n)
	}
	for i := range v {
		v[i] = strings.TrimSpace(v[i])
	}
	return v, nil
}

// parseYuan reads a bill amount: an optional minus sign, digits, and exactly two decimals
// ("0.01", "-0.06"), exactly, in integers. money.ParseYuan is meant for what people type
// (it takes "¥", "元" and thousands separators) and caps a single amount at 100 million
// yuan, which a day's summary of a large school can pass; a machine file is read strictly.
func parseYuan(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	t := strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(t, ".")
	if !ok || whole == "" || len(frac) != 2 || len(whole) > 12 || !allDigits(whole) || !allDigits(frac) {
		return 0, errors.New("金额应为两位小数的数字")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	fen := w*100 + f
	if neg {
		fen = -fen
	}
	return fen, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
