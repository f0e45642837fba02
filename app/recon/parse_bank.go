package recon

import (
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"

	"campuspay/app/bizday"
	"campuspay/app/fault"
	"campuspay/app/money"
	"campuspay/app/sheet"
)

var bankHeader = []string{"serial", "time", "direction", "amount_fen", "counterparty", "reference"}

var serialRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ParseBank reads the simulated bank's daily statement of the school's account (format:
// app/sim/bank/doc.go):
//
//	serial,time,direction,amount_fen,counterparty,reference
//	B20261127C0001,2026-11-27T10:00:00+08:00,C,1234500,沙箱支付科技有限公司,SANDBOX SETTLE 2026-11-26
//	B20261127D0001,2026-11-27T14:00:00+08:00,D,1203456,国网某某供电公司,电费 2026-11
//	SUMMARY,<credit_count>,<credit_fen>,<debit_count>,<debit_fen>
//
// direction C is a credit (money in), D a debit. TradeNo keeps the serial.
func ParseBank(r io.Reader, emit func(*Line) error) (Summary, error) {
	var sum Summary
	var credits, debits int
	err := csvLines(r, bankHeader, func(line int, rec []string, raw string) error {
		if len(rec) != len(bankHeader) {
			return &ParseError{Line: line, Reason: "应有 6 列"}
		}
		l := &Line{LineNo: line, TradeNo: rec[0], Counterparty: rec[4], Reference: rec[5], Raw: raw}
		if err := number(line, "流水号", rec[0], serialRe); err != nil {
			return err
		}
		switch rec[2] {
		case "C":
			l.Kind = KindCredit
			credits++
		case "D":
			l.Kind = KindDebit
			debits++
		default:
			return &ParseError{Line: line, Reason: "借贷方向「" + clip(rec[2]) + "」应为 C 或 D"}
		}
		var err error
		if l.AmountFen, err = fen(line, "金额", rec[3], true); err != nil {
			return err
		}
		if l.At, err = instant(line, rec[1]); err != nil {
			return err
		}
		if len(rec[4]) > 200 || len(rec[5]) > 200 {
			return &ParseError{Line: line, Reason: "对方户名或摘要过长"}
		}
		sum.add(l)
		return emit(l)
	}, func(line int, rec []string) error {
		if len(rec) != 5 {
			return &ParseError{Line: line, Reason: "汇总行应为 SUMMARY,收入笔数,收入金额,支出笔数,支出金额"}
		}
		return checkSummary(line, rec,
			countField(1, "收入笔数", credits), countField(3, "支出笔数", debits),
			fenField(2, "收入金额", sum.GrossFen), fenField(4, "支出金额", sum.RefundFen))
	})
	return sum, err
}

// Mapping says which column of one bank's export holds what (column names as in the
// file's header). The date column is required; the amount is either one column (with a
// direction column, or signed: negative is money out) or a credit and a debit column.
// Amounts are in yuan as banks write them ("1,234.50").
type Mapping struct {
	Date         string `json:"date"`
	Time         string `json:"time,omitempty"`
	Amount       string `json:"amount,omitempty"`
	Direction    string `json:"direction,omitempty"`
	Credit       string `json:"credit,omitempty"`
	Debit        string `json:"debit,omitempty"`
	Reference    string `json:"reference,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// MappingFields are the mapping's fields in form order, with their labels.
var MappingFields = []struct{ Key, Label, Help string }{
	{"date", "交易日期", "必填；可以是日期，或日期和时间在同一列"},
	{"time", "交易时间", "日期列不含时间时填写"},
	{"amount", "交易金额", "一列金额：配合“借贷方向”列，或负数表示支出"},
	{"direction", "借贷方向", "如“贷/借”“收/支”“C/D”"},
	{"credit", "收入（贷方）金额", "收入和支出分两列时填写"},
	{"debit", "支出（借方）金额", "收入和支出分两列时填写"},
	{"reference", "摘要 / 附言", "用于识别渠道结算款"},
	{"counterparty", "对方户名", ""},
	{"serial", "流水号", "银行交易流水号"},
}

// Get returns the column name of a field by key.
func (m Mapping) Get(key string) string {
	switch key {
	case "date":
		return m.Date
	case "time":
		return m.Time
	case "amount":
		return m.Amount
	case "direction":
		return m.Direction
	case "credit":
		return m.Credit
	case "debit":
		return m.Debit
	case "reference":
		return m.Reference
	case "counterparty":
		return m.Counterparty
	case "serial":
		return m.Serial
	}
	return ""
}

// MappingFrom builds a mapping from a field lookup (a form).
func MappingFrom(get func(key string) string) Mapping {
	f := func(k string) string { return strings.TrimSpace(get(k)) }
	return Mapping{Date: f("date"), Time: f("time"), Amount: f("amount"), Direction: f("direction"),
		Credit: f("credit"), Debit: f("debit"), Reference: f("reference"), Counterparty: f("counterparty"), Serial: f("serial")}
}

// Validate reports what is missing, in Chinese, or nil.
func (m Mapping) Validate() error {
	switch {
	case m.Date == "":
		return errf(fault.ErrInvalid, "mapping_invalid", "请指定“交易日期”所在的列")
	case m.Amount == "" && (m.Credit == "" || m.Debit == ""):
		return errf(fault.ErrInvalid, "mapping_invalid", "请指定“交易金额”列，或同时指定“收入金额”和“支出金额”两列")
	case m.Amount != "" && (m.Credit != "" || m.Debit != ""):
		return errf(fault.ErrInvalid, "mapping_invalid", "“交易金额”与“收入/支出金额”只能选一种")
	}
	b, _ := json.Marshal(m)
	if len(b) > 2000 {
		return errf(fault.ErrInvalid, "mapping_invalid", "列名过长")
	}
	return nil
}

var (
	creditWords = []string{"贷", "贷方", "收", "收入", "入", "存入", "C", "CR", "CREDIT", "IN", "+"}
	debitWords  = []string{"借", "借方", "支", "支出", "出", "取出", "D", "DR", "DEBIT", "OUT", "-"}
)

var dateLayouts = []string{"2006-01-02", "2006/01/02", "20060102", "2006-1-2", "2006/1/2", "2006.01.02", "2006年1月2日"}
var timeLayouts = []string{"15:04:05", "15:04", "150405"}

// ParseBankTable reads an uploaded bank export with a mapping into lines, every row or
// none: the first bad row refuses the file with its line and reason. Times are read in
// Asia/Shanghai.
func ParseBankTable(t *sheet.Table, m Mapping) ([]*Line, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	cols := map[string]int{}
	var missing []string
	for _, f := range MappingFields {
		name := m.Get(f.Key)
		if name == "" {
			continue
		}
		idx := -1
		for i, h := range t.Header {
			if strings.TrimSpace(h) == name {
				idx = i
				break
			}
		}
		if idx < 0 {
			missing = append(missing, name)
			continue
		}
		cols[f.Key] = idx
	}
	if len(missing) > 0 {
		return nil, &ParseError{Line: 1, Reason: "表头中找不到列：" + strings.Join(missing, "、") + "（请检查列映射）"}
	}
	cell := func(r sheet.Row, key string) string {
		i, ok := cols[key]
		if !ok {
			return ""
		}
		return r.Cell(i)
	}
	lines := make([]*Line, 0, len(t.Rows))
	for _, r := range t.Rows {
		l := &Line{LineNo: r.Line, TradeNo: cell(r, "serial"), Reference: cell(r, "reference"), Counterparty: cell(r, "counterparty"), Raw: rawOf(r.Cells)}
		at, err := bankTime(cell(r, "date"), cell(r, "time"))
		if err != nil {
			return nil, &ParseError{Line: r.Line, Reason: err.Error()}
		}
		l.At = at
		if l.Kind, l.AmountFen, err = bankAmount(m, r, cell); err != nil {
			return nil, &ParseError{Line: r.Line, Reason: err.Error()}
		}
		if len(l.TradeNo) > 64 || len(l.Reference) > 200 || len(l.Counterparty) > 200 {
			return nil, &ParseError{Line: r.Line, Reason: "流水号、摘要或对方户名过长"}
		}
		lines = append(lines, l)
	}
	return lines, nil
}

type reason string

func (r reason) Error() string { return string(r) }

func bankTime(date, clock string) (time.Time, error) {
	if date == "" {
		return time.Time{}, reason("交易日期为空")
	}
	d, rest := date, ""
	if i := strings.IndexAny(date, " T"); i > 0 {
		d, rest = date[:i], strings.TrimSpace(date[i+1:])
	}
	if clock == "" {
		clock = rest
	}
	var day time.Time
	var err error
	for _, layout := range dateLayouts {
		if day, err = time.ParseInLocation(layout, d, bizday.Shanghai); err == nil {
			break
		}
	}
	if err != nil || day.Year() < 2000 || day.Year() > 2200 {
		return time.Time{}, reason("交易日期「" + clip(date) + "」无法识别，请使用 2026-01-31 的格式")
	}
	if clock == "" {
		return day, nil
	}
	for _, layout := range timeLayouts {
		if c, err := time.Parse(layout, clock); err == nil {
			return day.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute + time.Duration(c.Second())*time.Second), nil
		}
	}
	return time.Time{}, reason("交易时间「" + clip(clock) + "」无法识别，请使用 14:05:00 的格式")
}

// bankAmount reads a row's direction and amount (fen, positive).
func bankAmount(m Mapping, r sheet.Row, cell func(sheet.Row, string) string) (string, int64, error) {
	yuan := func(s, what string) (int64, error) {
		v, err := money.ParseYuan(s)
		if err != nil {
			msg := err.Error()
			if pe, ok := err.(*money.ParseError); ok {
				msg = pe.Message
			}
			return 0, reason(what + "「" + clip(s) + "」：" + msg)
		}
		return v, nil
	}
	if m.Amount == "" {
		credit, debit := cell(r, "credit"), cell(r, "debit")
		cf, df := int64(0), int64(0)
		var err error
		if credit != "" {
			if cf, err = yuan(credit, "收入金额"); err != nil {
				return "", 0, err
			}
		}
		if debit != "" {
			if df, err = yuan(debit, "支出金额"); err != nil {
				return "", 0, err
			}
		}
		switch {
		case cf > 0 && df > 0:
			return "", 0, reason("收入金额和支出金额不能同时有值")
		case cf > 0:
			return KindCredit, cf, nil
		case df > 0:
			return KindDebit, df, nil
		}
		return "", 0, reason("收入金额和支出金额都为空或为 0")
	}
	raw := strings.TrimSpace(cell(r, "amount"))
	negative := strings.HasPrefix(raw, "-")
	v, err := yuan(strings.TrimPrefix(raw, "-"), "交易金额")
	if err != nil {
		return "", 0, err
	}
	if v == 0 {
		return "", 0, reason("交易金额为 0")
	}
	kind := KindCredit
	if negative {
		kind = KindDebit
	}
	if m.Direction != "" {
		word := strings.ToUpper(strings.TrimSpace(cell(r, "direction")))
		switch {
		case contains(creditWords, word) && !negative:
			kind = KindCredit
		case contains(debitWords, word):
			kind = KindDebit
		default:
			return "", 0, reason("借贷方向「" + clip(word) + "」无法识别，应为“贷/借”“收/支”或“C/D”")
		}
	}
	return kind, v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
