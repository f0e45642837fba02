package api

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// BodyLimit is the most bytes a request to path under /api may carry: a batch of bills or
// a roster page may be large, every other endpoint takes one small object (or nothing).
// The server refuses a larger body before any handler, whatever its transfer encoding.
func BodyLimit(path string) int {
	switch strings.TrimRight(path, "/") {
	case "/api/v1/bills/batch":
		return limitBatch
	case "/api/v1/payers":
		return limitSync
	}
	return limitOne
}

// tooLarge is API.md's 413 payload_too_large.
func tooLarge(size, limit int) error {
	return &apiError{Status: fiber.StatusRequestEntityTooLarge, Code: "payload_too_large",
		Message: fmt.Sprintf("request body is %d bytes, more than the %d KB this endpoint accepts", size, limit>>10)}
}
