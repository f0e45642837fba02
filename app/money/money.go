// Package money formats and parses amounts of money.
//
// Every amount in CampusPay is an int64 count of fen (分, 1/100 yuan). Yuan
// appear only as text: on screens (Format), in form inputs and spreadsheets
// (Plain, ParseYuan) and on receipts (Capitals). No float is used anywhere.
package money

import (
	"strconv"
	"strings"
)

// MaxFen is the largest amount a person may enter: ¥100,000,000.00.
const MaxFen int64 = 100_000_000_00

// Format returns fen as a display amount: ¥1,234.50, -¥12.00.
func Format(fen int64) string {
	sign, abs := split(fen)
	var b strings.Builder
	b.WriteString(sign)
	b.WriteString("¥")
	b.WriteString(group(abs / 100))
	b.WriteByte('.')
	writeCents(&b, abs%100)
	return b.String()
}

// Plain returns fen as yuan with two decimals and no symbol or separators,
// for form inputs and spreadsheets: 1234.50, -12.00.
func Plain(fen int64) string {
	sign, abs := split(fen)
	var b strings.Builder
	b.WriteString(sign)
	b.WriteString(strconv.FormatUint(abs/100, 10))
	b.WriteByte('.')
	writeCents(&b, abs%100)
	return b.String()
}

// split returns "-" for a negative amount and the amount's absolute value.
// It works through uint64 so that math.MinInt64 does not overflow.
func split(fen int64) (string, uint64) {
	if fen < 0 {
		return "-", uint64(-(fen + 1)) + 1
	}
	return "", uint64(fen)
}

func writeCents(b *strings.Builder, cents uint64) {
	b.WriteByte(byte('0' + cents/10))
	b.WriteByte(byte('0' + cents%10))
}

// group writes n with a comma between each group of three digits.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
