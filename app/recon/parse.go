package recon

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"campuspay/app/billing"
)

// Line is one line of a statement as a parser reads it.
type Line struct {
	LineNo       int    // as in the file: the header is line 1
	Kind         string // pay | refund (channels); credit | debit (bank)
	TradeNo      string // the channel's transaction number, or the bank's serial
	OrderNo      string // the platform's order number
	RefundNo     string // the refund number the statement carries (see the parsers)
	AmountFen    int64  // always positive; Kind says which way the money went
	FeeFen       int64
	At           time.Time
	Reference    string // bank: the memo; card: the card number
	Counterparty string // bank: who paid or was paid; card: the holder number
	Raw          string
}

// Line kinds.
const (
	KindPay    = "pay"
	KindRefund = "refund"
	KindCredit = "credit"
	KindDebit  = "debit"
)

// Summary is a statement's totals: for a channel, payments (gross), their fees, refunds
// and net = gross - fees - refunds; for the bank, credits (gross), debits (refunds) and
// net = credits - debits.
type Summary struct {
	Count     int
	GrossFen  int64
	FeeFen    int64
	RefundFen int64
	NetFen    int64
}

// add counts a line into the totals.
func (s *Summary) add(l *Line) {
	s.Count++
	switch l.Kind {
	case KindPay, KindCredit:
		s.GrossFen += l.AmountFen
	case KindRefund, KindDebit:
		s.RefundFen += l.AmountFen
	}
	s.FeeFen += l.FeeFen
	s.NetFen = s.GrossFen - s.FeeFen - s.RefundFen
}

// ParseError is why a statement file was refused, whole: the line (1 = the header) and
// the reason, in Chinese.
type ParseError struct {
	Line   int
	Reason string
}

func (e *ParseError) Error() string { return fmt.Sprintf("第 %d 行：%s", e.Line, e.Reason) }

// A parser reads a statement file, calls emit for every line in file order, and returns
// the totals, which it has checked against the file's own summary. Any fault is a
// *ParseError and the file is to be refused whole.
type parser func(r io.Reader, emit func(*Line) error) (Summary, error)

// parsers are the statement formats by source (banks are "bank:<code>").
func parserOf(source string) (parser, error) {
	switch {
	case source == "sandbox":
		return ParseSandbox, nil
	case source == "campuscard":
		return ParseCard, nil
	case strings.HasPrefix(source, bankPrefix):
		return ParseBank, nil
	}
	return nil, errf(billing.ErrInvalid, "source_unsupported", "暂不支持「%s」的对账单", source)
}

// maxLineFen bounds one line's amount (¥100,000,000.00), which keeps sums far from overflow.
const maxLineFen = 10_000_000_000

var (
	numberRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	orderRe  = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
)

// csvLines reads a UTF-8 CSV statement (a BOM is skipped) record by record: the header
// must equal header; each later record is handed to row with its line number and raw text;
// the record whose first field is "SUMMARY" goes to summary and must be the last.
func csvLines(r io.Reader, header []string, row func(line int, rec []string, raw string) error, summary func(line int, rec []string) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	line, summaryLine, seenHeader := 0, 0, false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &ParseError{Line: pe.Line, Reason: "CSV 格式错误（引号或分隔符有误）"}
			}
			return &ParseError{Line: line + 1, Reason: "文件无法读取"}
		}
		line, _ = cr.FieldPos(0)
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return &ParseError{Line: line, Reason: "不是 UTF-8 编码"}
			}
		}
		if summaryLine != 0 {
			return &ParseError{Line: line, Reason: "SUMMARY 汇总行之后不应再有内容"}
		}
		if !seenHeader {
			if !equalFields(rec, header) {
				return &ParseError{Line: line, Reason: "表头应为 " + strings.Join(header, ",")}
			}
			seenHeader = true
			continue
		}
		if rec[0] == "SUMMARY" {
			summaryLine = line
			if err := summary(line, rec); err != nil {
				return err
			}
			continue
		}
		if err := row(line, rec, rawOf(rec)); err != nil {
			return err
		}
	}
	if !seenHeader {
		return &ParseError{Line: 1, Reason: "文件是空的"}
	}
	if summaryLine == 0 {
		return &ParseError{Line: line + 1, Reason: "缺少 SUMMARY 汇总行"}
	}
	return nil
}

func equalFields(rec, want []string) bool {
	if len(rec) != len(want) {
		return false
	}
	for i := range rec {
		if strings.TrimSpace(rec[i]) != want[i] {
			return false
		}
	}
	return true
}

// rawOf is a record as text for the record (the line as the file had it, near enough).
func rawOf(rec []string) string {
	s := strings.Join(rec, ",")
	if len(s) > 1000 {
		s = s[:1000]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// fen reads a non-negative amount in fen.
func fen(line int, name, s string, positive bool) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || strings.HasPrefix(s, "+"):
		return 0, &ParseError{Line: line, Reason: name + "「" + clip(s) + "」不是整数（单位：分）"}
	case n < 0 || (positive && n == 0):
		return 0, &ParseError{Line: line, Reason: name + "必须大于 0"}
	case n > maxLineFen:
		return 0, &ParseError{Line: line, Reason: name + "超出上限"}
	}
	return n, nil
}

// count reads a non-negative count.
func count(line int, name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, &ParseError{Line: line, Reason: name + "「" + clip(s) + "」不是非负整数"}
	}
	return n, nil
}

// summed reads a summary total, which may be any integer (a net may be negative).
func summed(line int, name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, &ParseError{Line: line, Reason: "汇总行的" + name + "「" + clip(s) + "」不是整数"}
	}
	return n, nil
}

func instant(line int, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, &ParseError{Line: line, Reason: "时间「" + clip(s) + "」不是 RFC 3339 格式"}
	}
	return t, nil
}

func number(line int, name, s string, re *regexp.Regexp) error {
	if !re.MatchString(s) {
		return &ParseError{Line: line, Reason: name + "「" + clip(s) + "」格式不正确"}
	}
	return nil
}

// mismatch is the error of a summary field that does not equal the lines.
func mismatch(line int, name string, stated, computed int64) error {
	return &ParseError{Line: line, Reason: fmt.Sprintf("汇总行的%s为 %d，与明细合计 %d 不符", name, stated, computed)}
}

// clip keeps a quoted value short in a message.
func clip(s string) string {
	r := []rune(s)
	if len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}

// summaryField is one figure of a statement's summary line: its column, its name, and what
// the statement's lines add up to.
type summaryField struct {
	i       int
	name    string
	want    int64
	isCount bool
}

func countField(i int, name string, want int) summaryField {
	return summaryField{i: i, name: name, want: int64(want), isCount: true}
}

func fenField(i int, name string, want int64) summaryField {
	return summaryField{i: i, name: name, want: want}
}

// checkSummary refuses a summary line whose figures are not what the lines add up to.
func checkSummary(line int, rec []string, fields ...summaryField) error {
	for _, f := range fields {
		var got int64
		if f.isCount {
			n, err := count(line, f.name, rec[f.i])
			if err != nil {
				return err
			}
			got = int64(n)
		} else {
			v, err := summed(line, f.name, strings.TrimSpace(rec[f.i]))
			if err != nil {
				return err
			}
			got = v
		}
		if got != f.want {
			return mismatch(line, f.name, got, f.want)
		}
	}
	return nil
}
