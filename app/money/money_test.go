package money

import (
	"errors"
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "¥0.00"},
		{5, "¥0.05"},
		{50, "¥0.50"},
		{100, "¥1.00"},
		{99999, "¥999.99"},
		{100000, "¥1,000.00"},
		{123450, "¥1,234.50"},
		{1234567, "¥12,345.67"},
		{12345678, "¥123,456.78"},
		{123456789, "¥1,234,567.89"},
		{10000000000, "¥100,000,000.00"},
		{-1, "-¥0.01"},
		{-1200, "-¥12.00"},
		{-123450, "-¥1,234.50"},
		{math.MaxInt64, "¥92,233,720,368,547,758.07"},
		{math.MinInt64, "-¥92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		if got := Format(tt.fen); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.fen, got, tt.want)
		}
	}
}

func TestPlain(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "0.00"},
		{5, "0.05"},
		{120, "1.20"},
		{123450, "1234.50"},
		{10000000000, "100000000.00"},
		{-5, "-0.05"},
		{-1200, "-12.00"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := Plain(tt.fen); got != tt.want {
			t.Errorf("Plain(%d) = %q, want %q", tt.fen, got, tt.want)
		}
	}
}

func TestCapitals(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		// Zero, fractions only.
		{0, "零元整"},
		{5, "伍分"},
		{50, "伍角整"},
		{55, "伍角伍分"},
		// Whole yuan; 整 after 元.
		{100, "壹元整"},
		{900, "玖元整"},
		{1000, "壹拾元整"},
		{1100, "壹拾壹元整"},
		{2000, "贰拾元整"},
		{10000, "壹佰元整"},
		{11000, "壹佰壹拾元整"},
		{123450, "壹仟贰佰叁拾肆元伍角整"},
		{123456, "壹仟贰佰叁拾肆元伍角陆分"},
		// Yuan and fractions: 零 for a zero 角 before 分, and after a zero 元位.
		{105, "壹元零伍分"},
		{150, "壹元伍角整"},
		{1050, "壹拾元零伍角整"},
		{10050, "壹佰元零伍角整"},
		{10005, "壹佰元零伍分"},
		{168032, "壹仟陆佰捌拾元零叁角贰分"},
		{1000001, "壹万元零壹分"},
		// Zeros inside a section: one 零 per run.
		{10100, "壹佰零壹元整"},
		{100100, "壹仟零壹元整"},
		{140950, "壹仟肆佰零玖元伍角整"},
		{600714, "陆仟零柒元壹角肆分"},
		{101000, "壹仟零壹拾元整"},
		{1010100, "壹万零壹佰零壹元整"},
		// 万 boundary.
		{1000000, "壹万元整"},
		{1000100, "壹万零壹元整"},
		{1010000, "壹万零壹佰元整"},
		{1100000, "壹万壹仟元整"},
		{10000000, "壹拾万元整"},
		{10700053, "壹拾万零柒仟元零伍角叁分"},
		{1640902, "壹万陆仟肆佰零玖元零贰分"},
		{100000000, "壹佰万元整"},
		{100010000, "壹佰万零壹佰元整"},
		{100100000, "壹佰万零壹仟元整"},
		{1000100000, "壹仟万零壹仟元整"},
		{1000000100, "壹仟万零壹元整"},
		{1234567800, "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元整"},
		// 亿 boundary.
		{10000000000, "壹亿元整"},
		{10000000001, "壹亿元零壹分"},
		{10000000100, "壹亿零壹元整"}, // ¥1,0000,0001.00
		{10000010000, "壹亿零壹佰元整"},
		{10000100000, "壹亿零壹仟元整"},
		{10001000000, "壹亿零壹万元整"},
		{10010000000, "壹亿零壹拾万元整"},
		{11000000000, "壹亿壹仟万元整"},
		{100000000000, "壹拾亿元整"},
		{100001000000, "壹拾亿零壹万元整"}, // ¥10,0001,0000.00
		{100000100000, "壹拾亿零壹仟元整"},
		{123456789012, "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元零壹角贰分"},
		{1000000000000, "壹佰亿元整"},
		{10000000000000, "壹仟亿元整"},
		{1000100000000, "壹佰亿零壹佰万元整"},
		// 万亿.
		{100000000000000, "壹万亿元整"},
		{100010000000000, "壹万零壹亿元整"},
		{100000001000000, "壹万亿零壹万元整"},
		{120030000500007, "壹万贰仟零叁亿零伍仟元零柒分"},
		// Negative.
		{-1, "负壹分"},
		{-123450, "负壹仟贰佰叁拾肆元伍角整"},
		// int64 extremes must not panic or overflow.
		{math.MaxInt64, "玖亿亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分"},
		{math.MinInt64, "负玖亿亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零捌分"},
	}
	for _, tt := range tests {
		if got := Capitals(tt.fen); got != tt.want {
			t.Errorf("Capitals(%d) = %q, want %q", tt.fen, got, tt.want)
		}
	}
}

func TestParseYuan(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"12", 1200},
		{"12.3", 1230},
		{"12.34", 1234},
		{"12.", 1200},
		{".5", 50},
		{"0.05", 5},
		{"007.50", 750},
		{"1,234.50", 123450},
		{"12,345,678.9", 1234567890},
		{" ¥12.00 ", 1200},
		{"￥1,234.50", 123450},
		{"¥ 12", 1200},
		{"12元", 1200},
		{"12.50 元", 1250},
		{"\t3.14\n", 314},
		{"１２．３０", 1230},
		{"１，２３４．５", 123450},
		{"\u3000８８\u3000", 8800},
		{"100000000", MaxFen},
		{"100,000,000.00", MaxFen},
		{"00000000000000000000012", 1200},
		{"99999999.99", 9999999999},
	}
	for _, tt := range tests {
		got, err := ParseYuan(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseYuan(%q) = %d, %v, want %d, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseYuanRejects(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", msgEmpty},
		{"   ", msgEmpty},
		{"¥", msgEmpty},
		{"元", msgEmpty},
		{".", msgInvalid},
		{"abc", msgInvalid},
		{"12a", msgInvalid},
		{"1.2.3", msgInvalid},
		{"1e5", msgInvalid},
		{"+12", msgInvalid},
		{"12 34", msgInvalid},
		{"0x10", msgInvalid},
		{"NaN", msgInvalid},
		{"12.3a", msgInvalid},
		{"一百", msgInvalid},
		{"12.345", msgDecimals},
		{"0.001", msgDecimals},
		{"12.340", msgDecimals},
		{"-12", msgNegative},
		{"-0", msgNegative},
		{"¥-12.00", msgNegative},
		{"-¥12.00", msgNegative},
		{"－５", msgNegative},
		{"12,34", msgSeparator},
		{"1,2345.00", msgSeparator},
		{"1234,567", msgSeparator},
		{",123", msgSeparator},
		{"1,,234", msgSeparator},
		{"100000000.01", msgTooLarge},
		{"100,000,001", msgTooLarge},
		{"999999999.99", msgTooLarge},
		{"9223372036854775807", msgTooLarge},
		{"99999999999999999999999999.99", msgTooLarge},
	}
	for _, tt := range tests {
		got, err := ParseYuan(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseYuan(%q) = %d, %v, want *ParseError %q", tt.in, got, err, tt.want)
			continue
		}
		if pe.Message != tt.want || pe.Input != tt.in {
			t.Errorf("ParseYuan(%q) error = %+v, want Message %q", tt.in, pe, tt.want)
		}
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := ParseYuan("12.345")
	want := `money: parse "12.345": 金额最多两位小数`
	if err == nil || err.Error() != want {
		t.Errorf("ParseYuan(%q) error = %v, want %q", "12.345", err, want)
	}
}

// FuzzParseYuan checks that whatever ParseYuan accepts is in range and reads
// back the same from Plain and Format, and that it never panics.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"12", "12.3", "1,234.50", " ¥12.00 ", "１２．３０", "-1", "12.345", "100000000.01", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fen, err := ParseYuan(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Message == "" {
				t.Fatalf("ParseYuan(%q) error = %v, want *ParseError with a Message", s, err)
			}
			return
		}
		if fen < 0 || fen > MaxFen {
			t.Fatalf("ParseYuan(%q) = %d, want within [0, %d]", s, fen, MaxFen)
		}
		for _, text := range []string{Plain(fen), Format(fen)} {
			if back, err := ParseYuan(text); err != nil || back != fen {
				t.Fatalf("ParseYuan(%q) = %d, %v, want %d (from input %q)", text, back, err, fen, s)
			}
		}
	})
}

// FuzzPlainRoundTrip checks that every amount a person may enter survives
// Plain and Format followed by ParseYuan.
func FuzzPlainRoundTrip(f *testing.F) {
	for _, n := range []int64{0, 1, 99, 100, 123450, MaxFen, MaxFen + 1, -1, math.MaxInt64, math.MinInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, fen int64) {
		for _, text := range []string{Plain(fen), Format(fen)} {
			got, err := ParseYuan(text)
			switch {
			case fen < 0 || fen > MaxFen:
				if err == nil {
					t.Fatalf("ParseYuan(%q) = %d, nil, want an error", text, got)
				}
			case err != nil || got != fen:
				t.Fatalf("ParseYuan(%q) = %d, %v, want %d, nil", text, got, err, fen)
			}
		}
	})
}
