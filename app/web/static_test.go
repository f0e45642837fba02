package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"

	"campuspay/app/web"
	"campuspay/static"
)

func TestStaticServesHashedCompressedImmutable(t *testing.T) {
	app := fiber.New()
	app.All("/static/*", web.Static(static.Default()))
	plain, _ := static.Default().Lookup("js/echarts.min.js")
	url := static.URL("js/echarts.min.js")

	get := func(path, enc string, hdr ...string) *httptestResp {
		req := httptest.NewRequest("GET", path, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		return &httptestResp{status: res.StatusCode, header: res.Header.Get, body: body}
	}

	tests := []struct {
		enc, want string
		decode    func([]byte) ([]byte, error)
	}{
		{"gzip, deflate, br", "br", func(b []byte) ([]byte, error) { return io.ReadAll(brotli.NewReader(bytes.NewReader(b))) }},
		{"gzip", "gzip", func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		}},
		{"br;q=0, gzip", "gzip", func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		}},
		{"", "", func(b []byte) ([]byte, error) { return b, nil }},
	}
	for _, tt := range tests {
		r := get(url, tt.enc)
		if r.status != 200 || r.header("Content-Encoding") != tt.want {
			t.Errorf("Accept-Encoding %q: status %d, Content-Encoding %q; want 200, %q", tt.enc, r.status, r.header("Content-Encoding"), tt.want)
			continue
		}
		got, err := tt.decode(r.body)
		if err != nil || !bytes.Equal(got, plain.Plain) {
			t.Errorf("Accept-Encoding %q: decoded body differs from the file (err %v)", tt.enc, err)
		}
		if cc := r.header("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("hashed name: Cache-Control = %q, want a year, immutable", cc)
		}
		if r.header("Vary") != "Accept-Encoding" || !strings.HasPrefix(r.header("Content-Type"), "text/javascript") {
			t.Errorf("Vary %q, Content-Type %q", r.header("Vary"), r.header("Content-Type"))
		}
	}

	r := get("/static/js/echarts.min.js", "gzip")
	if r.status != 200 || strings.Contains(r.header("Cache-Control"), "immutable") {
		t.Errorf("plain name: status %d, Cache-Control %q; want 200 and revalidation", r.status, r.header("Cache-Control"))
	}
	r = get(url, "br", "If-None-Match", plain.ETag)
	if r.status != 304 || len(r.body) != 0 {
		t.Errorf("If-None-Match with the ETag: status %d, %d bytes; want 304, empty", r.status, len(r.body))
	}
	for _, p := range []string{"/static/js/nothing.js", "/static/../go.mod", "/static/"} {
		if r := get(p, ""); r.status != 404 {
			t.Errorf("GET %s: status %d, want 404", p, r.status)
		}
	}
}

type httptestResp struct {
	status int
	header func(string) string
	body   []byte
}
