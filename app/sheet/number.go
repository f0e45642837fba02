package sheet

import (
	"strings"
)

// significant is how many significant digits a spreadsheet number carries: Excel keeps 15,
// and a writer that stores 17 (0.28999999999999998 for 0.29) means the 15-digit value.
const significant = 15

// PlainNumber turns a number as a spreadsheet stores it ("1200.5", "1.2005E3", "-3E-2",
// "0.28999999999999998") into plain decimal text ("1200.5", "1200.5", "-0.03", "0.29"),
// rounded half away from zero to 15 significant digits, without trailing fractional zeros.
// It works on the digits as text: no float is involved. ok is false when s is not a
// number.
func PlainNumber(s string) (plain string, ok bool) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	mant, expText, hasExp := strings.Cut(strings.ToUpper(s), "E")
	exp := 0
	if hasExp {
		e, ok := parseExp(expText)
		if !ok {
			return "", false
		}
		exp = e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return "", false
	}
	// value = 0.digits × 10^point
	digits := whole + frac
	point := len(whole) + exp
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	digits, point = digits[lead:], point-lead
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return "0", true
	}
	if len(digits) > significant {
		roundUp := digits[significant] >= '5'
		digits = digits[:significant]
		if roundUp {
			b := []byte(digits)
			i := len(b) - 1
			for ; i >= 0 && b[i] == '9'; i-- {
				b[i] = '0'
			}
			if i < 0 {
				b = append([]byte{'1'}, b...)
				point++
			} else {
				b[i]++
			}
			digits = string(b)
		}
		digits = strings.TrimRight(digits, "0")
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if neg {
		out = "-" + out
	}
	return out, true
}

func parseExp(s string) (int, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if s == "" || len(s) > 3 || !allDigits(s) {
		return 0, false
	}
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// looksNumeric reports whether a displayed cell reads as a number (with the grouping
// commas, currency signs, percent or exponent a number format may add), as opposed to a
// date, a time or text. Only such cells are replaced by their stored value.
func looksNumeric(shown string) bool {
	t := strings.TrimSpace(shown)
	t = strings.TrimPrefix(t, "-")
	t = strings.TrimPrefix(t, "¥")
	t = strings.TrimPrefix(t, "$")
	t = strings.TrimSuffix(t, "元")
	t = strings.TrimSuffix(t, "%")
	t = strings.TrimPrefix(strings.TrimSuffix(t, ")"), "(")
	t = strings.TrimSpace(t)
	if t == "" {
		return false
	}
	mant, exp, hasExp := strings.Cut(strings.ToUpper(t), "E")
	if hasExp {
		if _, ok := parseExp(exp); !ok {
			return false
		}
	}
	whole, frac, _ := strings.Cut(mant, ".")
	return whole+frac != "" && allDigits(strings.ReplaceAll(whole, ",", "")) && allDigits(frac)
}
