package reqlog

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSaneID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"3f2a9c1e-77b0-4c1e-9d7a-0b1c2d3e4f50", true},
		{"lb-1.2:3_x", true},
		{"", false},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"a b", false},
		{"a\nlevel=ERROR", false},
		{`x"}`, false},
		{"编号", false},
	}
	for _, tt := range tests {
		if got := SaneID(tt.id); got != tt.want {
			t.Errorf("SaneID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestFieldsReachLinesLoggedWithTheContext(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "json", nil)
	f := New("req-1")
	ctx := With(context.Background(), f)
	Add(ctx, "order_no", "P1", "trade_no", "")
	Add(ctx, "order_no", "P2") // the first value stays
	log.InfoContext(ctx, "work")
	log.Info("elsewhere")
	Add(context.Background(), "order_no", "P3") // no request: nothing happens

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["request_id"] != "req-1" || first["order_no"] != "P1" || first["trade_no"] != nil {
		t.Errorf("line with the context = %v, want request_id req-1 and order_no P1 only", first)
	}
	if second["request_id"] != nil {
		t.Errorf("line without the context = %v, want no request id", second)
	}
}
