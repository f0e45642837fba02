// Package billing is the core of CampusPay: charge items, bills, orders, payments,
// receipts. Every change that moves money is a method here, in one database transaction,
// guarded by unique keys and UPDATE … WHERE status checks, and nowhere else.
package billing

import (
	"errors"
	"fmt"
)

// Error kinds. Web features map them to HTTP status in one place; people read Message.
var (
	ErrInvalid   = errors.New("invalid")   // the request is wrong: 400/422
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

func (e *Error) Error() string { return fmt.Sprintf("billing: %s: %s", e.Code, e.Message) }
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, code, format string, args ...any) *Error {
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
