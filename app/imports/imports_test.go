package imports_test

import (
	"testing"

	"campuspay/app/imports"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-09-30", "2026-09-30", true},
		{"2026/9/3", "2026-09-03", true},
		{"2026.9.30", "2026-09-30", true},
		{"2026年9月30日", "2026-09-30", true},
		{"09-30-26", "2026-09-30", true}, // Excel's default date format, as excelize shows it
		{"46295", "2026-09-30", true},    // an Excel date serial
		{"2026-02-30", "", false},
		{"明天", "", false},
	}
	for _, tt := range tests {
		got, ok := imports.ParseDate(tt.in)
		if ok != tt.ok || (ok && got.Format("2006-01-02") != tt.want) {
			t.Errorf("ParseDate(%q) = %s, %v; want %s, %v", tt.in, got.Format("2006-01-02"), ok, tt.want, tt.ok)
		}
	}
}
