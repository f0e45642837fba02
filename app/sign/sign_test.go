package sign

import (
	"strings"
	"testing"
)

func TestSignatures(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sts := StringToSign("post", "/api/v1/bills?x=1", "1764208800", "abcdefghijklmnop", []byte(`{"bill_no":"B-1"}`))
	if got := StringToSign("GET", "/api/v1/bills/B-1", "1", "n", nil); got != "GET\n/api/v1/bills/B-1\n1\nn\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("StringToSign with an empty body = %q, want the SHA-256 of \"\" on the last line", got)
	}
	good := HMAC(secret, sts)
	tests := []struct {
		name      string
		presented string
		expected  string
		ok        bool
	}{
		{"good", good, HMAC(secret, sts), true},
		{"uppercase hex is the same signature", toUpper(good), HMAC(secret, sts), true},
		{"tampered body", good, HMAC(secret, StringToSign("POST", "/api/v1/bills?x=1", "1764208800", "abcdefghijklmnop", []byte(`{"bill_no":"B-2"}`))), false},
		{"tampered query", good, HMAC(secret, StringToSign("POST", "/api/v1/bills?x=2", "1764208800", "abcdefghijklmnop", []byte(`{"bill_no":"B-1"}`))), false},
		{"wrong key", good, HMAC("another-secret", sts), false},
		{"truncated", good[:63], HMAC(secret, sts), false},
		{"empty", "", HMAC(secret, sts), false},
		{"legacy MD5 is not HMAC", MD5(secret, sts), HMAC(secret, sts), false},
		{"legacy MD5", MD5(secret, sts), MD5(secret, sts), true},
	}
	for _, tt := range tests {
		if got := Verify(tt.expected, tt.presented); got != tt.ok {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.ok)
		}
	}
	if len(good) != 64 {
		t.Errorf("signature length %d, want 64 hex characters", len(good))
	}
}

func TestValidNonce(t *testing.T) {
	for n, ok := range map[string]bool{
		"abcdefghijklmnop": true, "0123456789ABCDEFabcdef": true, "short": false,
		"abcdefghijklmnop!": false, "abcdefghijklmnop abc": false,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if ValidNonce(n) != ok {
			t.Errorf("ValidNonce(%q) = %v, want %v", n, !ok, ok)
		}
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
