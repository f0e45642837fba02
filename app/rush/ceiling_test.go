package rush

import (
	"strings"
	"testing"
)

func TestCeilingPageIs8KiB(t *testing.T) {
	p := ceilingPage()
	if len(p) != 8<<10 || !strings.HasPrefix(p, "<!doctype html>") || !strings.HasSuffix(p, "</html>\n") {
		t.Errorf("ceiling page: %d bytes, want a whole HTML page of 8192", len(p))
	}
}
