package money

import "strings"

var (
	capitalDigits = [10]string{"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"}
	// capitalPlaces is the unit inside a four-digit section: 个, 拾, 佰, 仟.
	capitalPlaces = [4]string{"", "拾", "佰", "仟"}
)

// Capitals returns fen in Chinese financial capitals (中文大写金额), as printed
// on receipts and bank forms: 123450 → 壹仟贰佰叁拾肆元伍角整.
//
// It follows the convention of the People's Bank of China for filling in
// bills and vouchers (正确填写票据和结算凭证的基本规定):
//
//   - digits are 壹贰叁肆伍陆柒捌玖, places 拾佰仟, sections 万 and 亿,
//     and a leading ten is written 壹拾 (¥10.00 → 壹拾元整);
//   - a run of zeros between two non-zero digits is written as one 零, across
//     万 and 亿 sections too (¥1,000,100.00 → 壹佰万零壹佰元整), and zeros at
//     the end of the integer part are not written (¥1,000,000.00 → 壹佰万元整);
//   - where the convention allows a 零 to be written or left out (元位 or
//     万位 zero followed by a non-zero digit), it is written, because a
//     written 零 leaves no gap to tamper with: ¥100.50 → 壹佰元零伍角整,
//     ¥107,000.53 → 壹拾万零柒仟元零伍角叁分;
//   - a zero 角 before a non-zero 分 is written 零 (¥1.05 → 壹元零伍分);
//   - 整 follows an amount that ends at 元 or 角, never one that ends at 分;
//   - no 元 is written when there are no whole yuan (¥0.50 → 伍角整), and
//     zero is 零元整. A negative amount is prefixed with 负.
func Capitals(fen int64) string {
	sign, abs := split(fen)
	if abs == 0 {
		return "零元整"
	}
	var b strings.Builder
	if sign != "" {
		b.WriteString("负")
	}

	yuan := abs / 100
	jiao, cents := (abs/10)%10, abs%10

	// Digits of the integer part, least significant first: digits[p] is the
	// digit at place p (p = 0 is 元, p = 4 is 万, p = 8 is 亿).
	var digits []uint64
	for n := yuan; n > 0; n /= 10 {
		digits = append(digits, n%10)
	}

	started := false // a non-zero digit has been written
	zero := false    // a run of zeros waits for its 零
	put := func(d uint64, unit string) {
		if d == 0 {
			zero = zero || started
			return
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(capitalDigits[d])
		b.WriteString(unit)
		started = true
	}

	for p := len(digits) - 1; p >= 0; p-- {
		put(digits[p], capitalPlaces[p%4])
		switch {
		case p == 16 && digits[p] != 0:
			// Only int64 extremes reach 亿亿 (10^16 yuan).
			b.WriteString("亿亿")
		case p == 8 && anyNonZero(digits, 8, 16):
			// 亿 closes both the 亿 section and the 万亿 section above it.
			b.WriteString("亿")
		case (p == 4 || p == 12) && anyNonZero(digits, p, p+4):
			b.WriteString("万")
		}
	}
	if yuan > 0 {
		b.WriteString("元")
	}
	put(jiao, "角")
	put(cents, "分")
	if cents == 0 {
		b.WriteString("整")
	}
	return b.String()
}

// anyNonZero reports whether any of digits[from:to] is not zero.
func anyNonZero(digits []uint64, from, to int) bool {
	for i := from; i < to && i < len(digits); i++ {
		if digits[i] != 0 {
			return true
		}
	}
	return false
}
