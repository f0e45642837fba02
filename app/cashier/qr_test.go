package cashier

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
)

// decodeQR reads back the module grid a data: URL of drawQRDataURL draws: each module must
// be a whole square of one colour.
func decodeQR(t *testing.T, u string, modules int) [][]bool {
	t.Helper()
	b64, ok := strings.CutPrefix(u, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.40s…", u)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	size := img.Bounds().Dx()
	if img.Bounds().Dy() != size || size < qrMinPixels || size%modules != 0 {
		t.Fatalf("image %v for %d modules: want a square at least %d pixels, a whole number per module", img.Bounds(), modules, qrMinPixels)
	}
	scale := size / modules
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r+g+b < 3*0x8000
	}
	grid := make([][]bool, modules)
	for my := range modules {
		grid[my] = make([]bool, modules)
		for mx := range modules {
			grid[my][mx] = dark(mx*scale, my*scale)
			for y := my * scale; y < (my+1)*scale; y++ {
				for x := mx * scale; x < (mx+1)*scale; x++ {
					if dark(x, y) != grid[my][mx] {
						t.Fatalf("module (%d,%d) is not one colour at pixel (%d,%d)", mx, my, x, y)
					}
				}
			}
		}
	}
	return grid
}

// The receipt's image draws exactly the modules of the QR code (content, recovery level
// Medium, the quiet zone), whole and unresampled: what a scanner reads is the code.
func TestReceiptQRDrawsTheCode(t *testing.T) {
	const verify = "https://pay.example.edu.cn/r/QRdrawsTheCode000000000"
	u, err := qrDataURL(verify)
	if err != nil {
		t.Fatal(err)
	}
	want, err := qrcode.New(verify, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bits := want.Bitmap()
	got := decodeQR(t, string(u), len(bits))
	for y := range bits {
		for x := range bits[y] {
			if got[y][x] != bits[y][x] {
				t.Fatalf("module (%d,%d) is %v in the image, %v in the code", x, y, got[y][x], bits[y][x])
			}
		}
	}
	for i := range 4 { // the quiet zone, all four sides
		for j := range bits {
			if got[i][j] || got[len(got)-1-i][j] || got[j][i] || got[j][len(got)-1-i] {
				t.Fatalf("a dark module in the quiet zone at ring %d", i)
			}
		}
	}
}

// The same address gives the same image, from the cache; another address its own image.
func TestReceiptQRCachedPerAddress(t *testing.T) {
	a := "https://pay.example.edu.cn/r/QRcachedPerAddressAAAAAA"
	b := "https://pay.example.edu.cn/r/QRcachedPerAddressBBBBBB"
	before := receiptQRs.len()
	first, err := qrDataURL(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := qrDataURL(a)
	other, _ := qrDataURL(b)
	if first != again {
		t.Error("the same address gave two different images")
	}
	if first == other {
		t.Error("two addresses gave the same image")
	}
	if n := receiptQRs.len() - before; n != 2 {
		t.Errorf("the cache grew by %d entries for two addresses", n)
	}
	if fresh, _ := drawQRDataURL(b); fresh != other {
		t.Error("the cached image differs from one drawn afresh")
	}
}

// The cache stays within its bytes, dropping the least recently used first.
func TestQRCacheBounded(t *testing.T) {
	c := newQRCache(10_000)
	img := strings.Repeat("x", 1_000)
	key := func(i int) string { return fmt.Sprintf("https://pay.example.edu.cn/r/%024d", i) }
	c.put(key(0), template.URL("0"+img))
	for i := 1; i < 100; i++ {
		c.get(key(0)) // kept in use
		c.put(key(i), template.URL("i"+img))
		if c.size > c.max {
			t.Fatalf("after %d codes the cache holds %d bytes, over its %d", i+1, c.size, c.max)
		}
	}
	if _, ok := c.get(key(0)); !ok {
		t.Error("the code in use was dropped")
	}
	if _, ok := c.get(key(1)); ok {
		t.Error("the oldest unused code was kept")
	}
	if _, ok := c.get(key(99)); !ok {
		t.Error("the newest code was dropped")
	}
	if n := c.len(); n < 5 || n > 9 {
		t.Errorf("%d codes of about 1,200 bytes in 10,000 bytes", n)
	}
	c.put("too big", template.URL(strings.Repeat("y", 20_000)))
	if _, ok := c.get("too big"); ok || c.size > c.max {
		t.Error("a code larger than the whole cache was kept")
	}
}
