package web

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/static"
)

// Static serves the embedded assets under /static/. A name carrying the asset's current
// content hash (the only kind a page links to) is cached by browsers and proxies for a
// year and never revalidated; any other name is revalidated by its ETag. Text assets go
// out in brotli or gzip when the browser takes it, compressed once per process.
func Static(assets *static.Assets) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return fiber.ErrMethodNotAllowed
		}
		a, exact := assets.Lookup(strings.TrimPrefix(c.Params("*"), "/"))
		if a == nil {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentType, a.ContentType)
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
		c.Set(fiber.HeaderETag, a.ETag)
		if exact {
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "public, max-age=0, must-revalidate")
		}
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, a.ETag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		body := a.Plain
		switch accepted(c.Get(fiber.HeaderAcceptEncoding)) {
		case "br":
			if b := a.Brotli(); b != nil {
				body = b
				c.Set(fiber.HeaderContentEncoding, "br")
			}
		case "gzip":
			if b := a.Gzip(); b != nil {
				body = b
				c.Set(fiber.HeaderContentEncoding, "gzip")
			}
		}
		c.Set(fiber.HeaderContentLength, strconv.Itoa(len(body)))
		if c.Method() == fiber.MethodHead {
			return nil
		}
		return c.Send(body)
	}
}

// accepted picks brotli, then gzip, from an Accept-Encoding header; "" means neither.
// An encoding listed with q=0 is refused, as RFC 9110 says.
func accepted(header string) string {
	var br, gz bool
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "br":
			br = true
		case "gzip":
			gz = true
		}
	}
	switch {
	case br:
		return "br"
	case gz:
		return "gzip"
	}
	return ""
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
