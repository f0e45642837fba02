package api

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/billing"
	"campuspay/app/web"
	"campuspay/store"
)

// Handler serves the integration API.
type Handler struct {
	Billing *billing.Service
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
	if cl := CurrentClient(c); cl != nil {
		row := &store.APIRequest{AppID: cl.AppID, Method: c.Method(), Path: truncate(c.OriginalURL(), 500),
			Status: c.Response().StatusCode(), ErrorCode: code, Message: truncate(msg, 500),
			DurationMS: int(time.Since(start).Milliseconds()), RemoteAddr: c.IP(), At: store.UTC(time.Now())}
		if _, err := h.Billing.DB.NewInsert().Model(row).Exec(c.Context()); err != nil {
			h.Log.Warn("api request log", "err", err)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
