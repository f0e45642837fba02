package server_test

import (
	"context"
	"strings"
	"testing"

	"campuspay/app/server"
)

// The public address every QR code, pay link and notify address is made from is checked when
// the platform starts: an operator's typo stops the start with a message naming the fault.
func TestPublicBase(t *testing.T) {
	good := map[string]string{
		"https://pay.example.edu.cn":            "https://pay.example.edu.cn",
		"https://pay.example.edu.cn/":           "https://pay.example.edu.cn",
		"http://127.0.0.1:8080":                 "http://127.0.0.1:8080",
		"https://www.example.edu.cn/campuspay/": "https://www.example.edu.cn/campuspay",
		" https://pay.example.edu.cn ":          "https://pay.example.edu.cn",
	}
	for in, want := range good {
		got, err := server.PublicBase(in)
		if err != nil || got != want {
			t.Errorf("PublicBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"pay.example.edu.cn":                  "http:// or https://",
		"ftp://pay.example.edu.cn":            "http:// or https://",
		"https://":                            "no host",
		"https://:8080":                       "no host",
		"https://pay.example.edu.cn/?next=/x": "path only",
		"https://pay.example.edu.cn/#top":     "path only",
		"https://admin:pw@pay.example.edu.cn": "path only",
		"https://pay.example.edu.cn/%zz":      "base URL",
		"":                                    "http:// or https://",
	}
	for in, want := range bad {
		got, err := server.PublicBase(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("PublicBase(%q) = %q, %v; want an error saying %q", in, got, err, want)
		}
	}
	if _, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), BaseURL: "pay.example.edu.cn"}); err == nil ||
		!strings.Contains(err.Error(), "base URL") {
		t.Fatalf("server.New with a base URL without scheme: %v, want a start-up error about the base URL", err)
	}
}
