package rush

import (
	"flag"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// CeilingMain is `campuspay ceiling [-addr]`: a bare Fiber handler serving one fixed 8 KiB
// HTML page, the ceiling the outstanding-bills page is measured against (issue 13: at least
// a tenth of it, on the same machine in the same run). Nothing else runs in it: no
// middleware, no database, no template.
func CeilingMain(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18282", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	page := []byte(ceilingPage())
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/*", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(page)
	})
	fmt.Printf("serving a fixed %d-byte page on http://%s/\n", len(page), *addr)
	return app.Listen(*addr)
}

// ceilingPage is an HTML page of exactly 8 KiB.
func ceilingPage() string {
	const size = 8 << 10
	head := "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>待缴费用</title></head><body><ul>\n"
	tail := "</ul></body></html>\n"
	var b strings.Builder
	b.WriteString(head)
	for i := 1; b.Len()+len(tail) < size-64; i++ {
		fmt.Fprintf(&b, "<li>账单 %04d ¥1,200.00</li>\n", i)
	}
	b.WriteString("<!--")
	b.WriteString(strings.Repeat("-", size-b.Len()-len(tail)-3))
	b.WriteString("-->")
	b.WriteString(tail)
	return b.String()
}
