package static

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuildHashesNamesByContent(t *testing.T) {
	fsys := fstest.MapFS{
		"css/app.css":   {Data: []byte(`a{background:url(../img/x.svg)} b{background:url("data:image/png;base64,AA")}`)},
		"img/x.svg":     {Data: []byte(`<svg/>`)},
		"js/app.min.js": {Data: []byte(`console.log(1)`)},
	}
	a, err := Build(fsys)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	img := a.URL("img/x.svg")
	if !strings.HasPrefix(img, "/static/img/x.") || !strings.HasSuffix(img, ".svg") || img == "/static/img/x.svg" {
		t.Errorf("URL(img/x.svg) = %q, want /static/img/x.<hash>.svg", img)
	}
	js := a.URL("js/app.min.js")
	if !strings.HasSuffix(js, ".js") || !strings.HasPrefix(js, "/static/js/app.min.") {
		t.Errorf("URL(js/app.min.js) = %q, want the hash before .js", js)
	}
	// The stylesheet points at the image's hashed name, so a new image is a new stylesheet.
	css, exact := a.Lookup(strings.TrimPrefix(a.URL("css/app.css"), "/static/"))
	if css == nil || !exact {
		t.Fatalf("Lookup(hashed css) = %v, %v; want the asset, exact", css, exact)
	}
	wantRef := "url(../" + strings.TrimPrefix(img, "/static/") + ")"
	if !strings.Contains(string(css.Plain), wantRef) {
		t.Errorf("stylesheet = %s, want it to contain %s", css.Plain, wantRef)
	}
	if !strings.Contains(string(css.Plain), `url("data:image/png;base64,AA")`) {
		t.Errorf("stylesheet = %s, want the data: URL left alone", css.Plain)
	}

	fsys["img/x.svg"] = &fstest.MapFile{Data: []byte(`<svg></svg>`)}
	b, err := Build(fsys)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if b.URL("img/x.svg") == img {
		t.Errorf("URL(img/x.svg) unchanged after the file changed: %s", img)
	}
	if b.URL("css/app.css") == a.URL("css/app.css") {
		t.Errorf("stylesheet's name unchanged after an image it uses changed")
	}
}

func TestLookupPlainAndStaleNames(t *testing.T) {
	a, err := Build(fstest.MapFS{"js/a.js": {Data: []byte("1")}})
	if err != nil {
		t.Fatal(err)
	}
	if got, exact := a.Lookup("js/a.js"); got == nil || exact {
		t.Errorf("Lookup(plain) = %v, exact %v; want the asset, not exact", got, exact)
	}
	if got, exact := a.Lookup("js/a.0123456789.js"); got == nil || exact {
		t.Errorf("Lookup(an older hash) = %v, exact %v; want today's asset, not exact", got, exact)
	}
	if got, _ := a.Lookup("js/b.js"); got != nil {
		t.Errorf("Lookup(unknown) = %v, want nil", got)
	}
	if got, _ := a.Lookup("../static/js/a.js"); got != nil {
		t.Errorf("Lookup(../) = %v, want nil", got)
	}
}

func TestBuildRefusesAMissingStylesheetReference(t *testing.T) {
	_, err := Build(fstest.MapFS{"css/app.css": {Data: []byte(`a{background:url(../img/gone.svg)}`)}})
	if err == nil || !strings.Contains(err.Error(), "gone.svg") {
		t.Errorf("Build() error = %v, want one naming gone.svg", err)
	}
}

func TestEmbeddedAssetsBuild(t *testing.T) {
	a := Default()
	for _, name := range []string{"css/app.css", "js/htmx.min.js", "js/echarts.min.js", "img/logo.svg"} {
		if u := a.URL(name); u == "/static/"+name {
			t.Errorf("URL(%s) = %s, want a hashed name", name, u)
		}
	}
	ec, _ := a.Lookup("js/echarts.min.js")
	if br, gz := ec.Brotli(), ec.Gzip(); len(br) == 0 || len(gz) == 0 || len(br) > len(ec.Plain)/2 || len(gz) > len(ec.Plain)/2 {
		t.Errorf("echarts: plain %d, brotli %d, gzip %d bytes; want both under half", len(ec.Plain), len(br), len(gz))
	}
}
