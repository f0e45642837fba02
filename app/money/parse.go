package money

import (
	"strings"
	"unicode"
)

// ParseError is why a typed amount was refused. Message is in Chinese, ready
// to show beside the form field or the spreadsheet row.
type ParseError struct {
	Input   string
	Message string
}

func (e *ParseError) Error() string {
	return "money: parse " + quote(e.Input) + ": " + e.Message
}

// quote keeps an error message short whatever a person pasted.
func quote(s string) string {
	const limit = 40
	r := []rune(s)
	if len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return `"` + s + `"`
}

// The messages ParseYuan returns.
const (
	msgEmpty     = "请输入金额"
	msgInvalid   = "金额格式不正确，请输入数字，如 1234.50"
	msgNegative  = "金额不能为负数"
	msgDecimals  = "金额最多两位小数"
	msgSeparator = "千分位逗号位置不正确，如 1,234.50"
	msgTooLarge  = "金额过大，单笔不能超过 ¥100,000,000.00"
)

// ParseYuan parses an amount in yuan as a person types it into a form or a
// spreadsheet cell and returns it in fen: "12", "12.3", "12.34", "1,234.50",
// " ¥12.00 ", "12元" and full-width "１２．３０" are all accepted. It refuses,
// with a *ParseError, an empty or non-numeric input, more than two decimals,
// a negative amount, misplaced thousands separators (so that "12,34" is never
// read as 1234 yuan) and anything above MaxFen. No float is involved.
func ParseYuan(s string) (int64, error) {
	fail := func(msg string) (int64, error) {
		return 0, &ParseError{Input: s, Message: msg}
	}

	t := strings.TrimFunc(normalize(s), unicode.IsSpace)
	t = strings.TrimPrefix(t, "¥")
	t = strings.TrimSuffix(t, "元")
	t = strings.TrimFunc(t, unicode.IsSpace)
	if strings.HasPrefix(t, "-") {
		return fail(msgNegative)
	}
	if t == "" {
		return fail(msgEmpty)
	}

	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac == "" {
		return fail(msgInvalid)
	}
	if !digitsOnly(frac) {
		return fail(msgInvalid)
	}
	if len(frac) > 2 {
		return fail(msgDecimals)
	}
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		for i, g := range groups {
			if !digitsOnly(g) {
				return fail(msgInvalid)
			}
			if (i == 0 && (len(g) < 1 || len(g) > 3)) || (i > 0 && len(g) != 3) {
				return fail(msgSeparator)
			}
		}
		whole = strings.Join(groups, "")
	}
	if !digitsOnly(whole) {
		return fail(msgInvalid)
	}

	// Leading zeros ("007.50" from a spreadsheet) carry no value. What is left
	// is at most 9 digits for any amount up to MaxFen, so the sum below cannot
	// overflow int64 however long the input is.
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 9 {
		return fail(msgTooLarge)
	}
	var fen int64
	for _, c := range whole {
		fen = fen*10 + int64(c-'0')
	}
	frac += "00"[len(frac):]
	fen = fen*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	if fen > MaxFen {
		return fail(msgTooLarge)
	}
	return fen, nil
}

// normalize maps the full-width characters a Chinese input method produces
// to their ASCII forms and the currency signs and minus signs people paste to
// one spelling each: ¥ and -.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return r - '０' + '0'
		case r == '．' || r == '。':
			return '.'
		case r == '，':
			return ','
		case r == '￥':
			return '¥'
		case r == '－' || r == '−':
			return '-'
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}

// digitsOnly reports whether s consists of ASCII digits only ("" counts).
func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
