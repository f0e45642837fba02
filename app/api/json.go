package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// Body limits: one bill or refund, a batch of 1,000 bills, a roster page of 1,000 payers.
const (
	limitOne   = 64 << 10
	limitBatch = 8 << 20
	limitSync  = 2 << 20
)

// decodeJSON reads the request body (at most limit bytes) as one JSON value into v. A body
// that is not is a 400 bad_request whose message says where; one over the limit is a 413
// payload_too_large.
func decodeJSON(c *fiber.Ctx, limit int, v any) error {
	body := c.Body()
	if len(body) > limit {
		return tooLarge(len(body), limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("request body is empty: a JSON object is expected")
	}
	return unmarshal(body, v)
}

// unmarshal decodes one JSON value, naming the field of a value of the wrong type.
func unmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	err := dec.Decode(v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ) && typ.Field != "":
		return badRequest(fmt.Sprintf("%s: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value))
	case errors.As(err, &typ):
		return badRequest(fmt.Sprintf("expected a JSON object, got JSON %s", typ.Value))
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err))
	case err != nil:
		return badRequest("malformed JSON: " + err.Error())
	}
	if dec.More() {
		return badRequest("malformed JSON: more than one value in the body")
	}
	return nil
}

// param is a path parameter, percent-decoded (a client may escape what it need not).
func param(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if s, err := url.PathUnescape(v); err == nil {
		return s
	}
	return v
}
