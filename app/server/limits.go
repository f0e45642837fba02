package server

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"campuspay/app/api"
	"campuspay/app/notify"
)

// MaxBody is the largest request the server reads at all: an import upload (15 MB of
// spreadsheet) with its form, on the upload routes only. fasthttp refuses anything
// larger, declared or chunked, before a handler runs; the error handler answers it like
// any other 413.
const MaxBody = 16 << 20

// FormBody is the limit of every other page's form (a sign-in, a settings page, a refund
// request): a few KB in use.
const FormBody = 1 << 20

// routeBodyLimit is the most a request to path may carry.
func routeBodyLimit(path string) int {
	switch {
	case strings.HasPrefix(path, "/notify/"):
		return notify.BodyLimit
	case strings.HasPrefix(path, "/api/"):
		return api.BodyLimit(path)
	case isUpload(path), strings.HasPrefix(path, "/ws/"): // SOAP refuses over 1 MB itself, with a fault
		return MaxBody
	}
	return FormBody
}

// isUpload reports the console routes that take a spreadsheet (multipart, or a bank file
// carried back through its column-mapping form).
func isUpload(path string) bool {
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(p) < 2 || p[0] != "console" {
		return false
	}
	switch {
	case len(p) == 4 && p[1] == "items" && p[3] == "import",
		len(p) == 3 && (p[1] == "roster" || p[1] == "offline") && p[2] == "import",
		len(p) == 3 && p[1] == "recon" && p[2] == "bankfiles",
		len(p) == 5 && p[1] == "recon" && p[2] == "banks" && p[4] == "mapping":
		return true
	}
	return false
}

// readLimits makes fasthttp read each request body against its route's limit (so a 20 MB
// post to /notify is refused after 64 KB, not read whole) and keeps the error handler
// told which path was refused. fasthttp clears the request when a chunked body overflows,
// so without the path kept here that refusal would be answered as a page, not as API.md's
// JSON error. A path is remembered from its header until the request either reaches the
// handlers (forgetBodyPath) or fails while its body is read (the error handler).
func readLimits(app *fiber.App) {
	var paths sync.Map // *fasthttp.RequestHeader → request URI, while its body is read
	srv := app.Server()
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		uri := string(h.RequestURI())
		paths.Store(h, uri)
		path, _, _ := strings.Cut(uri, "?")
		return fasthttp.RequestConfig{MaxRequestBodySize: routeBodyLimit(path)}
	}
	onError := srv.ErrorHandler
	srv.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		if uri, ok := paths.LoadAndDelete(&ctx.Request.Header); ok && len(ctx.Request.Header.RequestURI()) <= 1 {
			ctx.Request.SetRequestURI(uri.(string))
		}
		onError(ctx, err)
	}
	app.Use(func(c *fiber.Ctx) error {
		paths.Delete(&c.Context().Request.Header)
		return c.Next()
	})
}

// bodyLimit answers 413 to a request whose body is over its route's limit. fasthttp
// already read it against that limit (readLimits); this is the same rule where a request
// reaches the app another way (app.Test) or its path reads differently once routed.
func bodyLimit(c *fiber.Ctx) error {
	path := c.Path()
	limit := routeBodyLimit(path)
	size := max(c.Request().Header.ContentLength(), len(c.Request().Body()))
	if size > limit {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is %d bytes, more than the %d KB %s accepts", size, limit>>10, path))
	}
	return c.Next()
}
