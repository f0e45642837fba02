package auth

import (
	"testing"
	"time"
)

func TestSigner(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s := Signer{Key: []byte("k1")}
	tok := s.Sign("handoff", "P123", now.Add(time.Minute))
	tests := []struct {
		name    string
		signer  Signer
		purpose string
		token   string
		at      time.Time
		ok      bool
	}{
		{"good", s, "handoff", tok, now, true},
		{"expired", s, "handoff", tok, now.Add(time.Minute), false},
		{"other purpose", s, "paylink", tok, now, false},
		{"wrong key", Signer{Key: []byte("k2")}, "handoff", tok, now, false},
		{"payload swapped", s, "handoff", "P124" + tok[4:], now, false},
		{"garbage", s, "handoff", "x.y", now, false},
	}
	for _, tt := range tests {
		got, ok := tt.signer.Verify(tt.purpose, tt.token, tt.at)
		if ok != tt.ok || (ok && got != "P123") {
			t.Errorf("%s: Verify = %q, %v; want ok %v", tt.name, got, ok, tt.ok)
		}
	}
}
