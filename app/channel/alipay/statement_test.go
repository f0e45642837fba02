package alipay_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"campuspay/app/channel"
	"campuspay/app/channel/alipay"
)

var sep1Day = time.Date(2024, 9, 1, 0, 0, 0, 0, shanghai)

// statementEnv has two payments and a partial refund on 2024-09-01, and a clock on the
// next morning after Alipay has published the bill.
func statementEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, false)
	e.scanAndPay(e.pay("A1", channel.WayAliQR, 10000))
	e.clock.Set(e.clock.Now().Add(time.Hour))
	e.scanAndPay(e.pay("A2", channel.WayAliWAP, 5000))
	e.clock.Set(e.clock.Now().Add(time.Hour))
	if r, err := e.p.Refund(context.Background(), channel.RefundCall{Trade: channel.TradeRef{AttemptNo: "A1"}, RefundNo: "R1", AmountFen: 3000, TotalFen: 10000}); err != nil || r.Status != channel.RefundSucceeded {
		t.Fatalf("Refund = %+v, %v", r, err)
	}
	e.clock.Set(time.Date(2024, 9, 2, 10, 30, 0, 0, shanghai))
	return e
}

func TestStatementDownloadedAndParsed(t *testing.T) {
	e := statementEnv(t)
	st, err := e.p.Statement(context.Background(), sep1Day)
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	if len(st.Raw) == 0 || !strings.HasSuffix(st.FileName, "_20240901.csv.zip") {
		t.Errorf("FileName %q, %d raw bytes: the file is not kept", st.FileName, len(st.Raw))
	}
	a1 := e.query("A1")
	type key struct {
		kind   channel.StatementKind
		no     string
		amount int64
		fee    int64
		refund string
	}
	var got []key
	for _, l := range st.Lines {
		got = append(got, key{l.Kind, l.AttemptNo, l.AmountFen, l.FeeFen, l.RefundNo})
		if l.At.Location() != time.UTC || l.At.Before(sep1Day) || !l.At.Before(sep1Day.Add(24*time.Hour)) {
			t.Errorf("line %+v: At %v is not a UTC time of 2024-09-01 (Beijing)", l, l.At)
		}
		if l.AttemptNo == "A1" && l.TradeNo != a1.TradeNo {
			t.Errorf("line TradeNo %s, want %s", l.TradeNo, a1.TradeNo)
		}
	}
	want := []key{
		{channel.StatementPayment, "A1", 10000, 60, ""},
		{channel.StatementPayment, "A2", 5000, 30, ""},
		{channel.StatementRefund, "A1", 3000, -18, "R1"},
	}
	if len(got) != len(want) {
		t.Fatalf("lines = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
	// The file is what Alipay serves: GBK entry names without the UTF-8 flag.
	zr, err := zip.NewReader(bytes.NewReader(st.Raw), int64(len(st.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Flags&0x800 != 0 {
			t.Errorf("entry %q has the UTF-8 flag", f.Name)
		}
	}
}

func TestStatementWhoseTotalsDisagreeRefused(t *testing.T) {
	e := statementEnv(t)
	sw := e.sim.Switches()
	sw.TamperStatement = true
	e.sim.SetSwitches(sw)
	_, err := e.p.Statement(context.Background(), sep1Day)
	if !errors.Is(err, channel.ErrMalformed) || !strings.Contains(err.Error(), "订单金额") {
		t.Errorf("Statement = %v, want malformed over 订单金额", err)
	}
}

// Alipay answers bill_not_exist for a day without trades and for a bill not published yet.
// Once the bill is due the first is an empty statement; before, the second is an error.
func TestStatementWithoutBill(t *testing.T) {
	e := statementEnv(t)
	st, err := e.p.Statement(context.Background(), sep1Day.AddDate(0, 0, -1))
	if err != nil || len(st.Lines) != 0 {
		t.Errorf("Statement of a day without trades = %+v, %v, want empty", st, err)
	}
	_, err = e.p.Statement(context.Background(), sep1Day.AddDate(0, 0, 1))
	if !errors.Is(err, channel.ErrUnavailable) {
		t.Errorf("Statement of today = %v, want unavailable (not published yet)", err)
	}
}

// Variants of a good file, each with one thing wrong, are refused.
func TestParseStatementRefusesInconsistentFiles(t *testing.T) {
	e := statementEnv(t)
	st, err := e.p.Statement(context.Background(), sep1Day)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alipay.ParseStatement(st.Raw, sep1Day); err != nil {
		t.Fatalf("good file refused: %v", err)
	}
	detail := func(f func(string) string) func(string, string) string {
		return func(name, text string) string {
			if strings.HasSuffix(name, "_业务明细.csv") {
				return f(text)
			}
			return text
		}
	}
	for name, edit := range map[string]func(string, string) string{
		"a line's amount changed": detail(func(s string) string { return strings.Replace(s, "50.00\t", "50.01\t", 2) }),
		"footer count changed":    detail(func(s string) string { return strings.Replace(s, "交易合计：2笔", "交易合计：3笔", 1) }),
		"a line removed": detail(func(s string) string {
			return regexp.MustCompile(`(?m)^[^#\n]*\t,A2\t,[^\n]*\n`).ReplaceAllString(s, "")
		}),
		"another day": func(_, s string) string {
			return strings.ReplaceAll(s, "2024年09月01日 00:00:00", "2024年08月31日 00:00:00")
		},
		"header column renamed":  detail(func(s string) string { return strings.Replace(s, "服务费（元）", "手续费（元）", 1) }),
		"a column missing":       detail(func(s string) string { return strings.Replace(s, ",备注", "", 1) }),
		"a row after the footer": detail(func(s string) string { return s + "x\t,y\t\r\n" }),
		"summary dropped":        nil,
		"refund as a payment":    detail(func(s string) string { return strings.Replace(s, "退款", "交易", 1) }),
	} {
		t.Run(name, func(t *testing.T) {
			raw := rezip(t, st.Raw, edit)
			if lines, err := alipay.ParseStatement(raw, sep1Day); !errors.Is(err, channel.ErrMalformed) {
				t.Errorf("ParseStatement = %d lines, %v, want malformed", len(lines), err)
			}
		})
	}
	if _, err := alipay.ParseStatement([]byte("PK not a zip"), sep1Day); !errors.Is(err, channel.ErrMalformed) {
		t.Errorf("garbage: %v, want malformed", err)
	}
}

// rezip decodes each GBK entry, lets edit change it (nil edit: drop the summary), and
// writes the zip again as Alipay would.
func rezip(t *testing.T, raw []byte, edit func(name, text string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		name, _ := simplifiedchinese.GBK.NewDecoder().String(f.Name)
		if edit == nil && strings.Contains(name, "汇总") {
			continue
		}
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		text, _ := simplifiedchinese.GBK.NewDecoder().String(string(b))
		if edit != nil {
			text = edit(name, text)
		}
		enc, _ := simplifiedchinese.GBK.NewEncoder().String(text)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, NonUTF8: true})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(enc))
	}
	zw.Close()
	return buf.Bytes()
}
