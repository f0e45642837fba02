package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Asset is one embedded file with its content-hashed name. Its compressed forms are made
// once, the first time someone asks for them, and kept: never per request.
type Asset struct {
	Name        string // as in FS: "css/app.css"
	Hashed      string // "css/app.1a2b3c4d5e.css": changes whenever the content does
	ContentType string
	ETag        string // a strong validator: the content hash, quoted
	Plain       []byte

	compressible bool
	gzipOnce     sync.Once
	gzip         []byte
	brotliOnce   sync.Once
	brotli       []byte
}

// Gzip is the asset gzipped, or nil where that would not make it smaller.
func (a *Asset) Gzip() []byte {
	a.gzipOnce.Do(func() {
		if !a.compressible {
			return
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(a.Plain)
		w.Close()
		if b.Len() < len(a.Plain) {
			a.gzip = b.Bytes()
		}
	})
	return a.gzip
}

// Brotli is the asset in brotli, or nil where that would not make it smaller.
func (a *Asset) Brotli() []byte {
	a.brotliOnce.Do(func() {
		if !a.compressible {
			return
		}
		var b bytes.Buffer
		// Level 9 of 11: within a few per cent of the best size at a fraction of the time,
		// so the first request for ECharts after a start does not wait seconds.
		w := brotli.NewWriterLevel(&b, 9)
		w.Write(a.Plain)
		w.Close()
		if b.Len() < len(a.Plain) {
			a.brotli = b.Bytes()
		}
	})
	return a.brotli
}

// Assets is every embedded file, found by its plain or its hashed name.
type Assets struct {
	byName   map[string]*Asset // plain name → asset
	byHashed map[string]*Asset // hashed name → asset
}

// Lookup finds an asset by the name in a request (without "/static/"). exact is true
// when the name carried the asset's current hash, so the answer may be cached for good.
func (s *Assets) Lookup(name string) (a *Asset, exact bool) {
	if a, ok := s.byHashed[name]; ok {
		return a, true
	}
	if a, ok := s.byName[name]; ok {
		return a, false
	}
	// A page from before a deploy may ask for an older hash: serve today's file, briefly.
	if plain, ok := unhash(name); ok {
		if a, ok := s.byName[plain]; ok {
			return a, false
		}
	}
	return nil, false
}

// URL is the address to put in a page for the named asset ("css/app.css" →
// "/static/css/app.1a2b3c4d5e.css"). An unknown name keeps its plain address, so that a
// typo shows up as a 404 in the browser rather than a broken template.
func (s *Assets) URL(name string) string {
	if a, ok := s.byName[name]; ok {
		return "/static/" + a.Hashed
	}
	return "/static/" + name
}

// Default is the set built from FS, once.
var Default = sync.OnceValue(func() *Assets {
	a, err := Build(FS)
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test reads them all
	}
	return a
})

// URL is Default().URL.
func URL(name string) string { return Default().URL(name) }

// hashLen hex digits of SHA-256 name a version: 40 bits, no collision among a few files.
const hashLen = 10

var hashedName = regexp.MustCompile(`^(.*)\.[0-9a-f]{10}(\.[A-Za-z0-9]+)$`)

func unhash(name string) (string, bool) {
	m := hashedName.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}

func hashed(name string, content []byte) (string, string) {
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + h[:hashLen] + ext, h
}

// cssURL matches url(x), url("x") and url('x') in a stylesheet.
var cssURL = regexp.MustCompile(`url\(\s*['"]?([^'")]+?)['"]?\s*\)`)

// Build reads every file of fsys. Stylesheets are read last and their url(…) references
// to other files rewritten to those files' hashed names, so that a changed image gives
// the stylesheet a new hash too.
func Build(fsys fs.FS) (*Assets, error) {
	s := &Assets{byName: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	var css []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if path.Ext(name) == ".css" {
			css = append(css, name)
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		s.add(name, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range css {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		b, err = s.rewriteCSS(name, b)
		if err != nil {
			return nil, err
		}
		s.add(name, b)
	}
	return s, nil
}

func (s *Assets) rewriteCSS(name string, b []byte) ([]byte, error) {
	var bad error
	out := cssURL.ReplaceAllFunc(b, func(m []byte) []byte {
		ref := string(cssURL.FindSubmatch(m)[1])
		if strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "#") {
			return m
		}
		target := path.Clean(path.Join(path.Dir(name), ref))
		a, ok := s.byName[target]
		if !ok {
			bad = fmt.Errorf("static: %s refers to %s, which is not embedded", name, ref)
			return m
		}
		rel := strings.Repeat("../", strings.Count(path.Dir(name), "/")+1) + a.Hashed
		return []byte("url(" + rel + ")")
	})
	return out, bad
}

func (s *Assets) add(name string, b []byte) {
	h, sum := hashed(name, b)
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".md", ".txt":
		ct = "text/plain; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	a := &Asset{
		Name: name, Hashed: h, ContentType: ct, ETag: `"` + sum[:32] + `"`, Plain: b,
		compressible: strings.HasPrefix(ct, "text/") || ct == "image/svg+xml" || strings.Contains(ct, "json"),
	}
	s.byName[name] = a
	s.byHashed[h] = a
}
