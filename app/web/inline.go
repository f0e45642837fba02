package web

import (
	"bytes"
	"html"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"campuspay/static"
)

// assetCall is a template action that names an asset by a literal: {{asset "css/app.css"}}.
var assetCall = regexp.MustCompile(`\{\{-?\s*asset\s+"([^"{}]+)"\s*-?\}\}`)

// inlineAssets is the views with every {{asset "literal"}} replaced by the address it
// would give, before the templates are parsed. The addresses are fixed when the binary is
// built (each names its content's hash), yet as a template call each costs the page four
// reflective calls at every render — asset and the three escapers html/template puts after
// it in an href or src — and the cashier's layout has five of them. The substituted
// address is HTML-escaped, though it only ever holds a path of safe characters. A call with
// anything but a literal (say {{asset .Name}}) is left for the template to run.
type inlineAssets struct{ fs.FS }

func (v inlineAssets) Open(name string) (fs.File, error) {
	f, err := v.FS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".html") {
		return f, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.IsDir() {
		return f, nil // a directory named *.html: nothing to rewrite
	}
	defer f.Close()
	src, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	out := assetCall.ReplaceAllFunc(src, func(call []byte) []byte {
		name := assetCall.FindSubmatch(call)[1]
		return []byte(html.EscapeString(static.URL(string(name))))
	})
	return &inlinedFile{Reader: bytes.NewReader(out), info: inlinedInfo{info, int64(len(out))}}, nil
}

// inlinedFile is a view's rewritten text.
type inlinedFile struct {
	*bytes.Reader
	info inlinedInfo
}

func (f *inlinedFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *inlinedFile) Close() error               { return nil }

// inlinedInfo is the view's own file information with the rewritten text's size.
type inlinedInfo struct {
	fs.FileInfo
	size int64
}

func (i inlinedInfo) Size() int64 { return i.size }
