package api

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"campuspay/app/fault"
)

// apiError is an error with the status and code API.md gives it.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds, for 429 rate_limited: sent as the Retry-After header
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// badRequest names the field that is wrong.
func badRequest(msg string) error {
	return &apiError{Status: fiber.StatusBadRequest, Code: "bad_request", Message: msg}
}

// toAPIError maps any error to the API's status, code and message: domain errors as
// fault.Status says (the pages' mapping too); anything unexpected is a 500
// that says nothing of its cause.
func toAPIError(err error, log *slog.Logger) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if r, ok := fault.Status(err); ok {
		return &apiError{Status: r.Status, Code: r.Code, Message: r.Message}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := "bad_request"
		switch fe.Code {
		case fiber.StatusNotFound:
			code = "not_found"
		case fiber.StatusRequestEntityTooLarge:
			code = "payload_too_large"
		}
		return &apiError{Status: fe.Code, Code: code, Message: fe.Message}
	}
	log.Error("api request failed", "err", err)
	return &apiError{Status: fiber.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// writeError answers with API.md's error object.
func writeError(c *fiber.Ctx, e *apiError) error {
	setRetryAfter(c, e)
	return c.Status(e.Status).JSON(fiber.Map{"error": fiber.Map{"code": e.Code, "message": e.Message}})
}

// setRetryAfter sends the Retry-After header of a rate-limited request.
func setRetryAfter(c *fiber.Ctx, e *apiError) {
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
	}
}
