// Package api is the integration API business systems call: the signed HTTP JSON API under
// /api/v1 (API.md), the SOAP service, and the /docs/api page. It authenticates and logs each
// request, decodes it and answers in the contract's format; what a request does is done by
// bills, roster, clients and billing. It imports no other web feature.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/bills"
	"campuspay/app/clients"
	"campuspay/app/roster"
	"campuspay/app/web"
	"campuspay/store"
)

// Handler serves the integration API.
type Handler struct {
	Billing *billing.Service
	Bills   *bills.Service
	Clients *clients.Service
	Roster  *roster.Service
	Log     *slog.Logger
	Now     func() time.Time
	Render  *web.Renderer // the /docs/api page
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes lists every route of the integration API. Every /api/v1 request is signed; each
// is logged for the client's request log.
func (h *Handler) Routes(app fiber.Router) {
	app.Get("/docs/api", h.docs) // public: the contract and its examples
	v1 := app.Group("/api/v1", h.logRequest, h.authenticate)
	h.v1Routes(v1)
}

// logRequest records each request (after it is answered) in the client's request log,
// and answers every error with API.md's JSON error object.
func (h *Handler) logRequest(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	var code, msg string
	if err != nil {
		e := toAPIError(err, h.Log)
		code, msg = e.Code, e.Message
		writeError(c, e)
	}
	h.logCall(c.UserContext(), c, CurrentClient(c), c.Method(), c.OriginalURL(), c.Response().StatusCode(), code, msg, start)
	return nil
}

// logCall writes one request of a known client into its request log.
func (h *Handler) logCall(ctx context.Context, c *fiber.Ctx, client *store.Client, method, path string, status int, code, msg string, start time.Time) {
	if client == nil {
		return
	}
	row := &store.APIRequest{AppID: client.AppID, Method: method, Path: truncate(path, 500),
		Status: status, ErrorCode: code, Message: truncate(msg, 500),
		DurationMS: int(time.Since(start).Milliseconds()), RemoteAddr: c.IP(), At: store.UTC(time.Now())}
	if _, err := h.Billing.DB.NewInsert().Model(row).Exec(ctx); err != nil {
		h.Log.Warn("api request log", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
