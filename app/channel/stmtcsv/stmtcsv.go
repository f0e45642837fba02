// Package stmtcsv reads the CSV statement files of the simple channels (the sandbox, the
// campus card) and the school's bank: a header, one record per line, a SUMMARY record that
// must be last and must equal the lines. Every fault is a *channel.StatementError naming
// the line, so that a file is refused whole with a reason finance can read.
package stmtcsv

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

	"campuspay/app/channel"
)

// MaxLineFen bounds one line's amount (¥100,000,000.00), which keeps sums far from overflow.
const MaxLineFen = 10_000_000_000

var (
	// NumberRe is a channel's or bank's number, or a refund number.
	NumberRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	// OrderRe is the platform's order (or attempt) number.
	OrderRe = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
)

// Fault is the error of one line.
func Fault(line int, reason string) error {
	return &channel.StatementError{Line: line, Reason: reason}
}

// Read reads a UTF-8 CSV statement (a BOM is skipped) record by record: the header must
// equal header; each later record is handed to row with its line number and raw text; the
// record whose first field is "SUMMARY" goes to summary and must be the last.
func Read(r io.Reader, header []string, row func(line int, rec []string, raw string) error, summary func(line int, rec []string) error) error {
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
				return Fault(pe.Line, "CSV 格式错误（引号或分隔符有误）")
			}
			return Fault(line+1, "文件无法读取")
		}
		line, _ = cr.FieldPos(0)
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return Fault(line, "不是 UTF-8 编码")
			}
		}
		if summaryLine != 0 {
			return Fault(line, "SUMMARY 汇总行之后不应再有内容")
		}
		if !seenHeader {
			if !equalFields(rec, header) {
				return Fault(line, "表头应为 "+strings.Join(header, ","))
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
		if err := row(line, rec, Raw(rec)); err != nil {
			return err
		}
	}
	if !seenHeader {
		return Fault(1, "文件是空的")
	}
	if summaryLine == 0 {
		return Fault(line+1, "缺少 SUMMARY 汇总行")
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

// Raw is a record as text for the record (the line as the file had it, near enough).
func Raw(rec []string) string {
	s := strings.Join(rec, ",")
	if len(s) > 1000 {
		s = s[:1000]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// Fen reads a non-negative amount in fen (positive: more than zero).
func Fen(line int, name, s string, positive bool) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || strings.HasPrefix(s, "+"):
		return 0, Fault(line, name+"「"+Clip(s)+"」不是整数（单位：分）")
	case n < 0 || (positive && n == 0):
		return 0, Fault(line, name+"必须大于 0")
	case n > MaxLineFen:
		return 0, Fault(line, name+"超出上限")
	}
	return n, nil
}

// Count reads a non-negative count.
func Count(line int, name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, Fault(line, name+"「"+Clip(s)+"」不是非负整数")
	}
	return n, nil
}

// summed reads a summary total, which may be any integer (a net may be negative).
func summed(line int, name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, Fault(line, "汇总行的"+name+"「"+Clip(s)+"」不是整数")
	}
	return n, nil
}

// Instant reads an RFC 3339 time, in UTC: a parsed offset costs a zone of its own per
// line, which a day of a million lines would keep alive for nothing.
func Instant(line int, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, Fault(line, "时间「"+Clip(s)+"」不是 RFC 3339 格式")
	}
	return t.UTC(), nil
}

// Lines is room for the lines of a file of raw (one per text line, header and summary
// aside), so that a large day is not copied while it grows.
func Lines(raw []byte) []channel.StatementLine {
	return make([]channel.StatementLine, 0, max(bytes.Count(raw, []byte{'\n'})-1, 0))
}

// Number checks a number against re.
func Number(line int, name, s string, re *regexp.Regexp) error {
	if !re.MatchString(s) {
		return Fault(line, name+"「"+Clip(s)+"」格式不正确")
	}
	return nil
}

// Clip keeps a quoted value short in a message.
func Clip(s string) string {
	r := []rune(s)
	if len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}

// Field is one figure of a statement's summary record: its column, its name, and what the
// statement's lines add up to.
type Field struct {
	i       int
	name    string
	want    int64
	isCount bool
}

// CountField is a count in column i that must equal want.
func CountField(i int, name string, want int) Field {
	return Field{i: i, name: name, want: int64(want), isCount: true}
}

// FenField is an amount in column i that must equal want.
func FenField(i int, name string, want int64) Field {
	return Field{i: i, name: name, want: want}
}

// CheckSummary refuses a summary record whose figures are not what the lines add up to.
func CheckSummary(line int, rec []string, fields ...Field) error {
	for _, f := range fields {
		var got int64
		if f.isCount {
			n, err := Count(line, f.name, rec[f.i])
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
			return Fault(line, fmt.Sprintf("汇总行的%s为 %d，与明细合计 %d 不符", f.name, got, f.want))
		}
	}
	return nil
}
