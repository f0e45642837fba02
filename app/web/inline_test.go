package web_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"campuspay/app/web"
	"campuspay/static"
)

// The asset addresses a page links to are the hashed ones, whether the template named the
// asset by a literal (replaced before parsing) or by a value (run at render time).
func TestAssetAddressesInlinedAndRun(t *testing.T) {
	views := fstest.MapFS{
		"p/page.html": {Data: []byte(`<link href="{{asset "css/app.css"}}"><script src="{{- asset "js/app.js" -}}"></script>` +
			`<img src="{{asset .Logo}}"><p>{{.Text}}</p>`)},
	}
	engine := web.NewEngineFS(views)
	if err := engine.Load(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := engine.Templates.Lookup("p/page").Execute(&out, map[string]string{"Logo": "img/logo.svg", "Text": "<b>"}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, name := range []string{"css/app.css", "js/app.js", "img/logo.svg"} {
		url := static.URL(name)
		if url == "/static/"+name {
			t.Fatalf("%s has no hashed address: the test proves nothing", name)
		}
		if !strings.Contains(page, `"`+url+`"`) {
			t.Errorf("page does not link %s as %s:\n%s", name, url, page)
		}
	}
	if strings.Contains(page, "{{") || !strings.Contains(page, "<p>&lt;b&gt;</p>") {
		t.Errorf("page not rendered as a template with escaping:\n%s", page)
	}
}
