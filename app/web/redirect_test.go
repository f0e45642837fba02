package web_test

import (
	"testing"

	"campuspay/app/web"
)

func TestLocalPath(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"/pay", "/pay", true},
		{"/pay/history?page=2&x=%E5%BC%A0", "/pay/history?page=2&x=%E5%BC%A0", true},
		{"/console/items#top", "/console/items", true},
		{"/pay/%E7%BC%B4%E8%B4%B9", "/pay/%E7%BC%B4%E8%B4%B9", true},
		{"", "", false},
		{"pay", "", false},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"/\t/evil.example", "", false},
		{"/\n/evil.example", "", false},
		{"/pay\r\nSet-Cookie: a=b", "", false},
		{"/%09/evil.example", "", false},
		{"/%2f/evil.example", "", false},
		{"/%5Cevil.example", "", false},
		{"/%252F%252Fevil.example", "", false},
		{"/pay%0d%0aX: y", "", false},
		{"/pay?q=%0d%0a", "", false},
		{"/pay\u2028", "", false},
		{"/pay%ff", "", false},
		{"/pay%zz", "", false},
		{"https://evil.example/pay", "", false},
		{"http:/evil.example", "", false},
		{"javascript:alert(1)", "", false},
		{" /pay", "", false},
	}
	for _, tt := range tests {
		got, ok := web.LocalPath(tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("LocalPath(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
