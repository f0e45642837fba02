package recon

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"campuspay/app/sheet"
)

func collect(p parser, text string) ([]*Line, Summary, error) {
	var lines []*Line
	sum, err := p(strings.NewReader(text), func(l *Line) error { lines = append(lines, l); return nil })
	return lines, sum, err
}

const bankOK = "serial,time,direction,amount_fen,counterparty,reference\n" +
	"B20261127C01,2026-11-27T09:15:00+08:00,C,650000,王**,学费 2026000042 家长汇款\n" +
	"B20261127S01,2026-11-27T10:00:00+08:00,C,1240560,沙箱支付科技有限公司,SANDBOX SETTLE 2026-11-26\n" +
	"B20261127D01,2026-11-27T14:00:00+08:00,D,1203456,国网某某供电公司,电费 2026-11\n" +
	"SUMMARY,2,1890560,1,1203456\n"

func TestParseBank(t *testing.T) {
	lines, sum, err := collect(ParseBank, bankOK)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || sum.GrossFen != 1890560 || sum.RefundFen != 1203456 || sum.NetFen != 1890560-1203456 {
		t.Errorf("ParseBank = %d lines, %+v", len(lines), sum)
	}
	if l := lines[1]; l.Kind != KindCredit || l.Reference != "SANDBOX SETTLE 2026-11-26" || l.TradeNo != "B20261127S01" {
		t.Errorf("settlement line = %+v", l)
	}
	_, _, err = collect(ParseBank, strings.Replace(bankOK, "SUMMARY,2,1890560", "SUMMARY,2,1890561", 1))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 5 || !strings.Contains(pe.Reason, "收入金额") {
		t.Errorf("summary mismatch: %v", err)
	}
}

func TestParseBankTable(t *testing.T) {
	csv := "交易日期,交易时间,借贷标志,交易金额,对方户名,摘要,流水号\n" +
		"2026-11-27,10:00:00,贷,\"12,405.60\",沙箱支付科技有限公司,SANDBOX SETTLE 2026-11-26,X001\n" +
		"2026/11/27,14:00,借,\"1,203.45\",国网某某供电公司,电费,X002\n" +
		"20261128,09:00:00,C,6500,王**,学费,X003\n"
	m := Mapping{Date: "交易日期", Time: "交易时间", Amount: "交易金额", Direction: "借贷标志", Counterparty: "对方户名", Reference: "摘要", Serial: "流水号"}
	tbl, err := sheet.Read("bank.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseBankTable(tbl, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind   string
		amount int64
		at     string
	}{{KindCredit, 1240560, "2026-11-27T10:00:00+08:00"}, {KindDebit, 120345, "2026-11-27T14:00:00+08:00"}, {KindCredit, 650000, "2026-11-28T09:00:00+08:00"}}
	for i, w := range want {
		l := lines[i]
		if l.Kind != w.kind || l.AmountFen != w.amount || l.At.Format("2006-01-02T15:04:05-07:00") != w.at {
			t.Errorf("line %d = %s %d %s, want %s %d %s", i, l.Kind, l.AmountFen, l.At.Format("2006-01-02T15:04:05-07:00"), w.kind, w.amount, w.at)
		}
	}
	// Credit and debit in two columns.
	two := "日期,收入金额,支出金额,摘要\n2026-11-27 09:00:00,100.00,,a\n2026-11-27 10:00:00,,50.5,b\n"
	tbl, _ = sheet.Read("b.csv", strings.NewReader(two))
	lines, err = ParseBankTable(tbl, Mapping{Date: "日期", Credit: "收入金额", Debit: "支出金额", Reference: "摘要"})
	if err != nil || lines[0].Kind != KindCredit || lines[0].AmountFen != 10000 || lines[1].Kind != KindDebit || lines[1].AmountFen != 5050 {
		t.Fatalf("two columns: %v %+v", err, lines)
	}
	bad := []struct {
		name, text string
		m          Mapping
		line       int
		reason     string
	}{
		{"missing column", csv, Mapping{Date: "日期", Amount: "交易金额"}, 1, "找不到列"},
		{"bad date", "交易日期,交易金额\n2026-11-27,1\n明天,2\n", Mapping{Date: "交易日期", Amount: "交易金额"}, 3, "交易日期"},
		{"bad amount", "交易日期,交易金额\n2026-11-27,1.234\n", Mapping{Date: "交易日期", Amount: "交易金额"}, 2, "两位小数"},
		{"bad direction", "交易日期,交易金额,方向\n2026-11-27,1,X\n", Mapping{Date: "交易日期", Amount: "交易金额", Direction: "方向"}, 2, "借贷方向"},
		{"both sides", two + "2026-11-27,1,1,c\n", Mapping{Date: "日期", Credit: "收入金额", Debit: "支出金额"}, 4, "同时"},
	}
	for _, tt := range bad {
		tbl, err := sheet.Read("x.csv", strings.NewReader(tt.text))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseBankTable(tbl, tt.m)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tt.line || !strings.Contains(pe.Reason, tt.reason) {
			t.Errorf("%s: ParseBankTable = %v, want line %d mentioning %q", tt.name, err, tt.line, tt.reason)
		}
	}
	if err := (Mapping{Amount: "x"}).Validate(); err == nil {
		t.Error("a mapping without a date column is accepted")
	}
	if err := (Mapping{Date: "d", Credit: "c"}).Validate(); err == nil {
		t.Error("a mapping with a credit column and no debit column is accepted")
	}
}

// checkParsed is what every parser promises: refused with a line number, or read with
// totals that equal its lines.
func checkParsed(t *testing.T, p parser, data []byte) {
	var sum Summary
	got, err := p(bytes.NewReader(data), func(l *Line) error {
		if l.AmountFen <= 0 || l.LineNo < 2 {
			t.Fatalf("line %+v accepted", l)
		}
		sum.add(l)
		return nil
	})
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line < 1 || pe.Reason == "" {
			t.Fatalf("error %v is not a *ParseError with a line", err)
		}
		return
	}
	if got != sum {
		t.Fatalf("summary %+v accepted, the lines add up to %+v", got, sum)
	}
}

func FuzzParseBank(f *testing.F) {
	f.Add([]byte(bankOK))
	f.Add([]byte("serial,time,direction,amount_fen,counterparty,reference\nSUMMARY,0,0,0,0\n"))
	f.Add([]byte(strings.Replace(bankOK, ",D,", ",X,", 1)))
	f.Fuzz(func(t *testing.T, data []byte) { checkParsed(t, ParseBank, data) })
}

func FuzzParseBankTable(f *testing.F) {
	f.Add([]byte("交易日期,交易时间,借贷标志,交易金额,摘要\n2026-11-27,10:00:00,贷,\"12,405.60\",SANDBOX SETTLE 2026-11-26\n"))
	f.Add([]byte("交易日期,交易时间,借贷标志,交易金额,摘要\n2026-11-27,25:00,借,-3,x\n"))
	m := Mapping{Date: "交易日期", Time: "交易时间", Amount: "交易金额", Direction: "借贷标志", Reference: "摘要"}
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := sheet.Read("f.csv", bytes.NewReader(data))
		if err != nil {
			return // the sheet reader refuses it before the mapping is applied
		}
		lines, err := ParseBankTable(tbl, m)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v is not a *ParseError with a line", err)
			}
			return
		}
		for _, l := range lines {
			if l.AmountFen <= 0 || (l.Kind != KindCredit && l.Kind != KindDebit) || l.At.IsZero() {
				t.Fatalf("line %+v accepted", l)
			}
		}
	})
}
