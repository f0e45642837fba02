package web

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/fault"
)

// StatusOf maps an error to its HTTP status and the message a person may see: a domain
// error as fault.Status says (the API's mapping too), a Fiber error by its code. Anything
// unexpected is a 500 whose message says nothing of the cause.
func StatusOf(err error) (int, string) {
	if r, ok := fault.Status(err); ok {
		return r.Status, r.Message
	}
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		msg := fe.Message
		switch fe.Code {
		case fiber.StatusNotFound:
			msg = "页面不存在"
		case fiber.StatusMethodNotAllowed:
			msg = "不支持的请求方式"
		case fiber.StatusRequestEntityTooLarge:
			if msg == fiber.ErrRequestEntityTooLarge.Message { // the server's refusal: over the route's limit
				msg = "提交的内容过大：请减少内容，或把文件拆分成几个后重试"
			}
		}
		return fe.Code, msg
	}
	return fiber.StatusInternalServerError, "系统繁忙，请稍后再试"
}

// ErrorHandler is the app's one error handler: an HTMX request gets an alert fragment
// (with status 200 so that htmx swaps it in) placed in the request's own target when that
// target is an error slot (an id ending in "-error", next to the form) and otherwise in the
// page's #flash; a page request gets the error page; anything under /api, /notify or /sim
// gets JSON.
func (r *Renderer) ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, msg := StatusOf(err)
		if status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "method", c.Method(), "route", c.Route().Path, "err", err)
		}
		path := c.Path()
		if len(path) >= 4 && (path[:4] == "/api" || path[:4] == "/not" || path[:4] == "/sim") {
			return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"code": codeOf(err, status), "message": msg}})
		}
		if IsPartial(c) {
			if !strings.HasSuffix(c.Get("HX-Target"), "-error") {
				c.Set("HX-Retarget", "#flash")
			}
			c.Set("HX-Reswap", "innerHTML")
			return r.Fragment(c.Status(fiber.StatusOK), "cashier/_alert", fiber.Map{"Kind": "error", "Message": msg})
		}
		page := "cashier/error"
		if strings.HasPrefix(path, "/console") {
			page = "console/error"
		}
		return r.Render(c.Status(status), page, "出错了", fiber.Map{"Status": status, "Message": msg})
	}
}

func codeOf(err error, status int) string {
	var be *fault.Error
	if errors.As(err, &be) {
		return be.Code
	}
	switch status {
	case fiber.StatusNotFound:
		return "not_found"
	case fiber.StatusForbidden:
		return "forbidden"
	case fiber.StatusUnauthorized:
		return "unauthorized"
	case fiber.StatusBadRequest:
		return "bad_request"
	case fiber.StatusRequestEntityTooLarge:
		return "payload_too_large"
	}
	return "internal"
}
