package unionpay

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"campuspay/app/channel"
)

// The day's file is the 全渠道 general transaction detail (一般交易流水, the INN…ZM_ file) of
// the zip the file transfer answers. It is fixed-width: every line holds the fields below
// in this order, each exactly its width in bytes (left-aligned, space-padded), with one
// space between fields, and lines end in CRLF or LF. Amounts are fen, 12 digits; the
// signed amounts are C (credit to the merchant) or D (debit) followed by 12 digits.
//
// Only these fields are read: 交易传输时间, 交易金额, 查询流水号, 商户订单号, 商户手续费,
// 结算金额, 交易类型, 原交易查询流水号, 商户代码, 清算净额, 原始交易订单号. Each line is
// checked on its own totals: 结算金额 is the signed 交易金额 (credit for a consume, debit
// for a refund or revoke) and 清算净额 = 结算金额 + 商户手续费. The zip's CRC-32 of the
// entry is checked while it is read. The file carries no totals line of its own.
var zmLayout = []struct {
	name  string
	width int
}{
	{"交易代码", 3}, {"代理机构标识码", 11}, {"发送机构标识码", 11}, {"系统跟踪号", 6},
	{"交易传输时间", 10}, {"帐号", 19}, {"交易金额", 12}, {"商户类别", 4}, {"终端类型", 2},
	{"查询流水号", 21}, {"支付方式（旧）", 2}, {"商户订单号", 32}, {"支付卡类型", 2},
	{"原始交易的系统跟踪号", 6}, {"原始交易日期时间", 10}, {"商户手续费", 13}, {"结算金额", 13},
	{"支付方式", 4}, {"集团商户代码", 15}, {"交易类型", 2}, {"交易子类", 2}, {"业务类型", 6},
	{"帐号类型", 2}, {"账单类型", 4}, {"账单号码", 32}, {"交互方式", 1}, {"原交易查询流水号", 21},
	{"商户代码", 15}, {"分账入账方式", 1}, {"二级商户代码", 15}, {"二级商户简称", 32},
	{"二级商户分账入账金额", 13}, {"清算净额", 13}, {"终端号", 8}, {"商户自定义域", 32},
	{"优惠金额", 13}, {"发票金额", 13}, {"分期付款附加手续费", 12}, {"分期付款期数", 2},
	{"交易介质", 1}, {"原始交易订单号", 32}, {"保留使用", 98},
}

// zmOffset maps a field name to its [start, end) in a line; zmWidth is a line's length.
var zmOffset, zmWidth = func() (map[string][2]int, int) {
	m := map[string][2]int{}
	at := 0
	for i, f := range zmLayout {
		if i > 0 {
			at++ // the separating space
		}
		m[f.name] = [2]int{at, at + f.width}
		at += f.width
	}
	return m, at
}()

var (
	zmEntryPattern = regexp.MustCompile(`^INN(\d{6})\d{2}ZM_([0-9A-Za-z]{15})$`)
	digitsPattern  = regexp.MustCompile(`^[0-9]+$`)
	signedPattern  = regexp.MustCompile(`^[CD][0-9]{12}$`)
)

// Statement downloads the file of one UnionPay clearing day (txnType 76, fileType 00) —
// the day that ends at 23:00 Beijing time on day's date — checks it and parses its lines.
func (p *provider) Statement(ctx context.Context, day time.Time) (channel.Statement, error) {
	d := day.In(beijing)
	settle := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, beijing)
	ans, err := p.call(ctx, p.fileURL, map[string]string{
		"txnType":    "76",
		"txnSubType": "01",
		"bizType":    "000000",
		"accessType": "0",
		"merId":      p.merID,
		"settleDate": settle.Format("0102"),
		"txnTime":    wireTime(p.now()),
		"fileType":   "00",
	}, maxFileAnswer)
	if err != nil {
		return channel.Statement{}, err
	}
	switch c := ans["respCode"]; {
	case c == "98":
		return channel.Statement{}, unavailable("银联尚未生成 %s 的对账文件（98），请稍后再取", settle.Format("2006-01-02"))
	case c != "00":
		return channel.Statement{}, &RespError{Code: c, Message: ans["respMsg"]}
	}
	if ans["settleDate"] != settle.Format("0102") {
		return channel.Statement{}, unavailable("银联返回的对账文件日期 %q 不是所取的 %s", ans["settleDate"], settle.Format("0102"))
	}
	zipped, err := inflateFileContent(ans["fileContent"])
	if err != nil {
		return channel.Statement{}, fmt.Errorf("unionpay: %w: statement %s: %v", channel.ErrMalformed, settle.Format("2006-01-02"), err)
	}
	name, file, err := zmEntry(zipped, p.merID, settle)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("unionpay: %w: statement %s: %v", channel.ErrMalformed, settle.Format("2006-01-02"), err)
	}
	lines, err := ParseStatement(file, p.merID, settle)
	if err != nil {
		return channel.Statement{}, fmt.Errorf("unionpay: %w: statement %s: %v", channel.ErrMalformed, name, err)
	}
	return channel.Statement{FileName: name, Raw: zipped, Lines: lines}, nil
}

// inflateFileContent undoes fileContent: base64, then deflate (zlib), giving the zip.
func inflateFileContent(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("fileContent is empty")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("fileContent is not base64: %v", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("fileContent is not deflated: %v", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("fileContent does not inflate: %v", err)
	}
	if len(out) > maxInflated {
		return nil, fmt.Errorf("fileContent inflates beyond %d bytes", maxInflated)
	}
	return out, nil
}

// zmEntry finds the merchant's general transaction file of the day in the zip and reads
// it, bounded; archive/zip checks its CRC-32 at the end.
func zmEntry(zipped []byte, merID string, settle time.Time) (string, []byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return "", nil, fmt.Errorf("not a zip: %v", err)
	}
	var found *zip.File
	for _, f := range zr.File {
		m := zmEntryPattern.FindStringSubmatch(f.Name)
		if m == nil {
			continue
		}
		if m[1] != settle.Format("060102") || m[2] != merID {
			return "", nil, fmt.Errorf("entry %s is not merchant %s's file of %s", f.Name, merID, settle.Format("2006-01-02"))
		}
		if found != nil {
			return "", nil, fmt.Errorf("two ZM files: %s and %s", found.Name, f.Name)
		}
		found = f
	}
	if found == nil {
		return "", nil, errors.New("the zip holds no INN…ZM_ transaction file")
	}
	if found.UncompressedSize64 > maxEntry {
		return "", nil, fmt.Errorf("%s declares %d bytes", found.Name, found.UncompressedSize64)
	}
	rc, err := found.Open()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v", found.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxEntry+1))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v", found.Name, err) // zip.ErrChecksum for a tampered entry
	}
	if len(data) > maxEntry {
		return "", nil, fmt.Errorf("%s is larger than %d bytes", found.Name, maxEntry)
	}
	return found.Name, data, nil
}

// ParseStatement parses a ZM file of merchant merID for the clearing day settle (the day
// from 23:00 the evening before to 23:00 of settle's date, Beijing time). Any line that
// does not fit the layout, is another merchant's, falls outside the day or disagrees with
// its own totals refuses the whole file.
func ParseStatement(data []byte, merID string, settle time.Time) ([]channel.StatementLine, error) {
	s := settle.In(beijing)
	end := time.Date(s.Year(), s.Month(), s.Day(), 23, 0, 0, 0, beijing)
	start := end.AddDate(0, 0, -1)
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return []channel.StatementLine{}, nil
	}
	seen := map[string]bool{}
	var lines []channel.StatementLine
	for i, line := range strings.Split(text, "\n") {
		l, err := parseZMLine(line, merID, start, end)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		key := string(l.Kind) + "/" + l.TradeNo + "/" + l.ChannelRefundNo
		if seen[key] {
			return nil, fmt.Errorf("line %d: queryId listed twice", i+1)
		}
		seen[key] = true
		lines = append(lines, l)
	}
	return lines, nil
}

func parseZMLine(line, merID string, start, end time.Time) (channel.StatementLine, error) {
	var l channel.StatementLine
	if len(line) != zmWidth {
		return l, fmt.Errorf("%d bytes, want %d", len(line), zmWidth)
	}
	for i, f := range zmLayout {
		if i > 0 && line[zmOffset[f.name][0]-1] != ' ' {
			return l, fmt.Errorf("no separator before %s", f.name)
		}
	}
	get := func(name string) string {
		o := zmOffset[name]
		return strings.TrimRight(line[o[0]:o[1]], " ")
	}
	if get("商户代码") != merID {
		return l, fmt.Errorf("merchant %q is not %s", get("商户代码"), merID)
	}
	amt := get("交易金额")
	if len(amt) != 12 || !digitsPattern.MatchString(amt) {
		return l, fmt.Errorf("交易金额 %q is not 12 digits", amt)
	}
	amount, _ := parseFen(strings.TrimLeft(amt, "0"))
	if amount <= 0 {
		return l, fmt.Errorf("交易金额 %q is not positive", amt)
	}
	fee, err1 := signedFen(get("商户手续费"))
	settleAmt, err2 := signedFen(get("结算金额"))
	net, err3 := signedFen(get("清算净额"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return l, err
	}
	dir := int64(1)
	switch t := get("交易类型"); t {
	case "01":
		l.Kind = channel.StatementPayment
	case txnRefund, txnRevoke:
		l.Kind, dir = channel.StatementRefund, -1
	default:
		return l, fmt.Errorf("交易类型 %q is not consume, refund or revoke", t)
	}
	if settleAmt != dir*amount {
		return l, fmt.Errorf("结算金额 %d disagrees with 交易金额 %d", settleAmt, amount)
	}
	if net != settleAmt+fee {
		return l, fmt.Errorf("清算净额 %d is not 结算金额 %d + 手续费 %d", net, settleAmt, fee)
	}
	tt := get("交易传输时间")
	if len(tt) != 10 || !digitsPattern.MatchString(tt) {
		return l, fmt.Errorf("交易传输时间 %q is not MMddHHmmss", tt)
	}
	at, err := time.ParseInLocation("20060102150405", fmt.Sprint(end.Year())+tt, beijing)
	if err != nil {
		return l, fmt.Errorf("交易传输时间 %q: %v", tt, err)
	}
	if at.After(end) {
		at = at.AddDate(-1, 0, 0) // 12-31 23:xx in the file of 01-01
	}
	if at.Before(start) || !at.Before(end) {
		return l, fmt.Errorf("交易传输时间 %s is outside the clearing day", at.Format("2006-01-02 15:04:05"))
	}
	order, qid := get("商户订单号"), get("查询流水号")
	if !orderIDPattern.MatchString(order) || qid == "" || !digitsPattern.MatchString(qid) {
		return l, fmt.Errorf("商户订单号 %q or 查询流水号 %q is malformed", order, qid)
	}
	l.AmountFen, l.FeeFen, l.At = amount, -fee, at.UTC()
	if l.Kind == channel.StatementPayment {
		l.AttemptNo, l.TradeNo = order, qid
		return l, nil
	}
	origOrder, origQid := get("原始交易订单号"), get("原交易查询流水号")
	if !orderIDPattern.MatchString(origOrder) || origQid == "" || !digitsPattern.MatchString(origQid) {
		return l, fmt.Errorf("原始交易订单号 %q or 原交易查询流水号 %q is malformed", origOrder, origQid)
	}
	l.AttemptNo, l.TradeNo, l.RefundNo, l.ChannelRefundNo = origOrder, origQid, order, qid
	return l, nil
}

// signedFen reads C/D followed by 12 digits: credit to the merchant positive, debit negative.
func signedFen(s string) (int64, error) {
	if !signedPattern.MatchString(s) {
		return 0, fmt.Errorf("%q is not C/D and 12 digits", s)
	}
	var n int64
	for _, c := range s[1:] {
		n = n*10 + int64(c-'0')
	}
	if s[0] == 'D' {
		n = -n
	}
	return n, nil
}
