// Package fault holds the kinds of expected failure every domain package reports
// (invalid, not found, conflict, forbidden), the error that carries a code and a message a
// person may read, and the one mapping from them to an HTTP status. It knows no web
// framework and no database.
package fault

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Error kinds. Status maps them to HTTP status in one place; people read Message.
var (
	ErrInvalid   = errors.New("invalid")   // the request is wrong: 400 (422 for the codes API.md names)
	ErrNotFound  = errors.New("not found") // 404
	ErrConflict  = errors.New("conflict")  // the state forbids it now: 409
	ErrForbidden = errors.New("forbidden") // not this person's: 403
)

// Error is an expected failure with a code for machines and a message for people.
type Error struct {
	Kind    error  // one of the kinds above
	Code    string // stable, e.g. "item_not_payable", "amount_invalid"
	Message string // Simplified Chinese, safe to show
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an *Error of the kind with the code and the formatted message.
func New(kind error, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Message returns what a person may be shown for err: its Message when it is an *Error,
// otherwise fallback.
func Message(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return fallback
}

// FormErrors is a form that failed validation: a message per field name. Handlers render
// the form again with them; errors.Is(err, ErrInvalid) holds.
type FormErrors map[string]string

func (f FormErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("form invalid:")
	for _, k := range keys {
		b.WriteString(" " + k + ": " + f[k] + ";")
	}
	return b.String()
}

func (f FormErrors) Unwrap() error { return ErrInvalid }

// BadField is a 400 bad_request whose message starts with the field's name.
func BadField(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Code: "bad_request", Message: field + "：" + fmt.Sprintf(format, args...)}
}

// codeStatus is the HTTP status of each error code API.md documents.
var codeStatus = map[string]int{
	"bill_conflict":        http.StatusConflict,
	"bill_not_cancellable": http.StatusConflict,
	"refund_conflict":      http.StatusConflict,
	"item_not_payable":     http.StatusUnprocessableEntity,
	"amount_invalid":       http.StatusUnprocessableEntity,
	"refund_exceeds_paid":  http.StatusUnprocessableEntity,
	"forbidden":            http.StatusForbidden,
	"not_found":            http.StatusNotFound,
}

// Reply is how an HTTP answer states an *Error: the status, the API's error code and the
// message.
type Reply struct {
	Status  int
	Code    string
	Message string
}

// Status is the one mapping from an error to HTTP, used by the pages and the API alike:
// a code API.md documents keeps its status and code; any other *Error takes its kind's
// (invalid 400 bad_request, not found 404 not_found, forbidden 403 forbidden, conflict 409
// with its own code). ok is false when err carries no *Error.
func Status(err error) (r Reply, ok bool) {
	var e *Error
	if !errors.As(err, &e) {
		return Reply{}, false
	}
	if st, ok := codeStatus[e.Code]; ok {
		return Reply{Status: st, Code: e.Code, Message: e.Message}, true
	}
	switch {
	case errors.Is(e.Kind, ErrNotFound):
		return Reply{Status: http.StatusNotFound, Code: "not_found", Message: e.Message}, true
	case errors.Is(e.Kind, ErrForbidden):
		return Reply{Status: http.StatusForbidden, Code: "forbidden", Message: e.Message}, true
	case errors.Is(e.Kind, ErrConflict):
		return Reply{Status: http.StatusConflict, Code: e.Code, Message: e.Message}, true
	}
	return Reply{Status: http.StatusBadRequest, Code: "bad_request", Message: e.Message}, true
}

// NotFound turns "no rows" into a not-found error with msg; any other err is returned as is.
func NotFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return New(ErrNotFound, "not_found", "%s", msg)
	}
	return err
}
