package cashier

import (
	"bytes"
	"container/list"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/skip2/go-qrcode"

	"campuspay/app/auth"
	"campuspay/app/web"
	"campuspay/store"
)

func sendQR(c *fiber.Ctx, content string, size int) error {
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	return c.Send(png)
}

// orderQR is the QR code of the channel's pay page, to scan with a phone.
func (h *Handler) orderQR(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	if o.PayURL == "" {
		return fiber.NewError(fiber.StatusNotFound, "此订单没有支付二维码")
	}
	return sendQR(c, o.PayURL, 320)
}

const handoffPurpose = "handoff"

// handoffQR is a QR code a PC user shows to continue the same order on their phone: it
// opens this order (and only it) in the phone's browser, until the order expires.
func (h *Handler) handoffQR(c *fiber.Ctx) error {
	o, err := h.order(c)
	if err != nil {
		return err
	}
	return sendQR(c, h.handoffURL(o), 256)
}

// handoffURL is the link that opens order o on another device until it expires.
func (h *Handler) handoffURL(o *store.Order) string {
	return h.BaseURL + "/h/" + h.Signer.Sign(handoffPurpose, o.OrderNo, o.ExpiresAt)
}

// handoff opens an order handed over from another device.
func (h *Handler) handoff(c *fiber.Ctx) error {
	orderNo, ok := h.Signer.Verify(handoffPurpose, c.Params("token"), time.Now())
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "二维码已失效，请在电脑上重新打开订单")
	}
	if err := auth.AddGuestOrder(c, orderNo); err != nil {
		return err
	}
	return web.Redirect(c, "/pay/orders/"+orderNo)
}

// qrDataURL is a receipt's verification QR code, for the receipt page's <img>: content (the
// verification address) as a PNG in a data: URL.
//
// It was qrcode.Encode's 200-pixel PNG, made at every view of a receipt: the code resampled
// pixel by pixel to a size that is no multiple of a module, then deflated by a new zlib
// writer at the default level — 9 % of the platform's CPU at the term-start rush, and about
// 1 MB of garbage a view. Now:
//   - The same QR code (the same content, recovery level Medium — 15 %, for a printed
//     receipt that gets folded and smudged — and the four-module quiet zone), each module
//     a whole square of pixels, at least 200 pixels across as before: the modules are
//     written straight into a two-colour image and deflated at BestSpeed with pooled
//     buffers. The image is smaller than before (sharp edges deflate well) and scans as
//     before: nothing the scanner reads has changed.
//   - Kept per content in receiptQRs, a least-recently-used cache bounded in bytes: a
//     receipt never changes once issued and its verification address is its own, so the
//     same address always makes the same image, and the payer who opens, prints and
//     reopens a receipt pays for it once.
//
// An SVG was tried too: a little cheaper to make, but about 5 KB in the page against 0.6
// KB, and the page is not compressed.
func qrDataURL(content string) (template.URL, error) {
	if u, ok := receiptQRs.get(content); ok {
		return u, nil
	}
	u, err := drawQRDataURL(content)
	if err != nil {
		return "", err
	}
	receiptQRs.put(content, u)
	return u, nil
}

// qrMinPixels is the least width of a receipt's QR image; each module is a whole number of
// pixels, so the image is the next multiple of the module count.
const qrMinPixels = 200

var qrPNG = &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers lets the PNG encoder reuse its zlib writer and row buffers across images.
type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}
func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

var qrPalette = color.Palette{color.White, color.Black}

func drawQRDataURL(content string) (template.URL, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("cashier: qr code: %w", err)
	}
	bits := q.Bitmap() // with the quiet zone
	scale := (qrMinPixels + len(bits) - 1) / len(bits)
	n := len(bits) * scale
	img := image.NewPaletted(image.Rect(0, 0, n, n), qrPalette)
	for y, row := range bits {
		top := img.Pix[y*scale*img.Stride:][:n]
		for x, dark := range row {
			if dark {
				for i := range scale {
					top[x*scale+i] = 1
				}
			}
		}
		for i := 1; i < scale; i++ {
			copy(img.Pix[(y*scale+i)*img.Stride:][:n], top)
		}
	}
	var b bytes.Buffer
	if err := qrPNG.Encode(&b, img); err != nil {
		return "", fmt.Errorf("cashier: qr png: %w", err)
	}
	const prefix = "data:image/png;base64,"
	out := make([]byte, len(prefix)+base64.StdEncoding.EncodedLen(b.Len()))
	copy(out, prefix)
	base64.StdEncoding.Encode(out[len(prefix):], b.Bytes())
	return template.URL(out), nil
}

// receiptQRs holds the codes of the last few thousand receipts viewed (2 MiB; a code and
// its address are under 1 KiB): a bound of its own, well inside the platform's 150 MB.
var receiptQRs = newQRCache(2 << 20)

// qrCache maps a QR code's content to its data: URL, dropping the least recently used past
// max bytes (keys and values counted, plus a fixed cost per entry).
type qrCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *qrEntry, most recent first
	byKey map[string]*list.Element
}

type qrEntry struct {
	key string
	url template.URL
}

// qrEntryCost is what an entry costs besides its strings: the list element, the map slot
// and the entry.
const qrEntryCost = 160

func newQRCache(max int) *qrCache {
	return &qrCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *qrCache) get(key string) (template.URL, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*qrEntry).url, true
}

func (c *qrCache) put(key string, u template.URL) {
	cost := len(key) + len(u) + qrEntryCost
	if cost > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok { // made twice at once: keep the first
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&qrEntry{key: key, url: u})
	c.size += cost
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*qrEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.size -= len(e.key) + len(e.url) + qrEntryCost
	}
}

// len is the number of codes held (for tests).
func (c *qrCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}
