package static

import (
	"io/fs"
	"path"
	"strings"
	"testing"
)

func TestCSSURLsExist(t *testing.T) {
	css, err := fs.ReadFile(FS, "css/app.css")
	if err != nil {
		t.Fatalf("ReadFile(css/app.css) error = %v", err)
	}
	matches := cssURL.FindAllStringSubmatch(string(css), -1)
	if len(matches) == 0 {
		t.Fatal("app.css has no url() references, want some (check the pattern)")
	}
	for _, m := range matches {
		ref := m[1]
		switch {
		case strings.HasPrefix(ref, "data:"):
			continue
		case strings.Contains(ref, "//"):
			// No CDN, no other host: campus networks are closed.
			t.Errorf("app.css url(%s) points outside the binary, want a file in static/", ref)
			continue
		case strings.HasPrefix(ref, "/"):
			t.Errorf("app.css url(%s) is absolute, want a path relative to css/", ref)
			continue
		}
		name := path.Clean(path.Join("css", ref))
		if _, err := fs.Stat(FS, name); err != nil {
			t.Errorf("app.css url(%s): %s not embedded: %v", ref, name, err)
		}
	}
}

func TestVendoredScripts(t *testing.T) {
	tests := []struct {
		name    string
		minSize int64
		marker  string
	}{
		{"js/htmx.min.js", 40 << 10, "htmx"},
		{"js/echarts.min.js", 500 << 10, "Licensed to the Apache Software Foundation"},
	}
	for _, tt := range tests {
		b, err := fs.ReadFile(FS, tt.name)
		if err != nil {
			t.Errorf("ReadFile(%s) error = %v", tt.name, err)
			continue
		}
		if int64(len(b)) < tt.minSize {
			t.Errorf("%s is %d bytes, want at least %d", tt.name, len(b), tt.minSize)
		}
		if !strings.Contains(string(b[:min(len(b), 4096)]), tt.marker) {
			t.Errorf("%s does not start with %q, want the published build", tt.name, tt.marker)
		}
	}
}

func TestImagesEmbedded(t *testing.T) {
	for _, name := range []string{"img/logo.svg", "img/favicon.svg"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Errorf("ReadFile(%s) error = %v", name, err)
			continue
		}
		if !strings.Contains(string(b), "<svg") {
			t.Errorf("%s has no <svg> element", name)
		}
	}
}
