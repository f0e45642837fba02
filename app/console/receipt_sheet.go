package console

import (
	"context"
	"fmt"
	"html/template"
	"strings"

	"github.com/skip2/go-qrcode"

	"campuspay/app/settings"
	"campuspay/store"
)

// receiptSheet is one receipt ready to print: the receipt, the QR code of its verification
// page, and the words every receipt carries.
type receiptSheet struct {
	*store.ReceiptRow
	QR     template.HTML
	Title  string
	School string
	Issuer string
}

// CopyLabel is what the receipt's copy slot says: nothing for the first print, 第 N 次打印（补打）
// for a reprint.
func (s receiptSheet) CopyLabel() string { return copyLabel(s.PrintCount) }

func copyLabel(count int) string {
	if count < 2 {
		return ""
	}
	return fmt.Sprintf("第 %d 次打印（补打）", count)
}

// receiptSheets prepares receipts for printing. The settings are read once, and the QR codes
// are drawn as inline SVG, so that a batch of hundreds is one page and no further requests.
func (h *Handler) receiptSheets(ctx context.Context, rows []*store.ReceiptRow) ([]receiptSheet, error) {
	title := h.Settings.Get(ctx, settings.ReceiptTitle)
	school := h.Settings.Get(ctx, settings.SchoolName)
	issuer := h.Settings.Get(ctx, settings.ReceiptIssuer)
	out := make([]receiptSheet, len(rows))
	for i, r := range rows {
		qr, err := qrSVG(h.BaseURL + "/r/" + r.VerifyToken)
		if err != nil {
			return nil, err
		}
		out[i] = receiptSheet{ReceiptRow: r, QR: qr, Title: title, School: school, Issuer: issuer}
	}
	return out, nil
}

// qrSVG draws content as a QR code in one SVG path (each run of dark modules in a row is one
// rectangle): small, sharp on paper, and cheap to make.
func qrSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("console: qr code: %w", err)
	}
	bits := q.Bitmap()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="receipt-qr" viewBox="0 0 %d %d" role="img" aria-label="票据验证二维码" shape-rendering="crispEdges"><path d="`, len(bits), len(bits))
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil
}
