package cashier

import (
	"encoding/base64"
	"html/template"
	"strconv"
	"testing"

	"github.com/skip2/go-qrcode"
)

// benchVerify is a receipt's verification address as the receipt page makes it: a base URL,
// /r/ and a 24-character token.
const benchVerify = "https://pay.example.edu.cn/r/Ab3dEf6hJk9mNp2qRs5tUv8w"

// pngDataURL is how the receipt page drew its QR code before: a 200-pixel PNG, base64.
func pngDataURL(content string) (template.URL, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 200)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// The former PNG, for comparison in the same run.
func BenchmarkReceiptQRPNG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pngDataURL(benchVerify); err != nil {
			b.Fatal(err)
		}
	}
}

// The SVG drawn afresh: a receipt viewed for the first time.
func BenchmarkReceiptQRDraw(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := drawQRDataURL(benchVerify); err != nil {
			b.Fatal(err)
		}
	}
}

// qrDataURL over many receipts, each viewed once: every call misses the cache and stores
// (evicting once the cache is full).
func BenchmarkReceiptQRFirstView(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := qrDataURL(benchVerify[:len(benchVerify)-8] + strconv.Itoa(10_000_000+i)); err != nil {
			b.Fatal(err)
		}
	}
}

// qrDataURL for a receipt viewed again: a cache hit.
func BenchmarkReceiptQRAgain(b *testing.B) {
	if _, err := qrDataURL(benchVerify); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := qrDataURL(benchVerify); err != nil {
			b.Fatal(err)
		}
	}
}
