package server

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"campuspay/app/api"
	"campuspay/app/cashier"
)

// MaxBody is the largest request the server reads at all: an import upload (15 MB of
// spreadsheet) with its form. fasthttp refuses anything larger, declared or chunked,
// before a handler runs; the error handler answers it like any other 413.
const MaxBody = 16 << 20

// routeBodyLimit is the most a request to path may carry, or 0 for MaxBody.
func routeBodyLimit(path string) int {
	switch {
	case strings.HasPrefix(path, "/notify/"):
		return cashier.NotifyBodyLimit
	case strings.HasPrefix(path, "/api/"):
		return api.BodyLimit(path)
	}
	return 0
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

// bodyLimit answers 413 to a request whose body is over its route's limit: a channel
// notification (cashier.NotifyBodyLimit), an API endpoint (api.BodyLimit). The declared
// length is checked as well as the body read (a chunked body has no declared length), so
// a refused body never reaches a handler or the database. SOAP bounds its own envelope
// and answers a fault; pages and uploads have MaxBody.
func bodyLimit(c *fiber.Ctx) error {
	path := c.Path()
	limit := routeBodyLimit(path)
	if limit == 0 {
		return c.Next()
	}
	size := max(c.Request().Header.ContentLength(), len(c.Request().Body()))
	if size > limit {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is %d bytes, more than the %d KB %s accepts", size, limit>>10, path))
	}
	return c.Next()
}
