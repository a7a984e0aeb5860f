package api

import (
	"errors"
	"net/http"

	"github.com/dittodb/ditto"
)

// Codes of what only the HTTP layer can get wrong, beside the domain's.
const (
	CodeUnauthorized     ditto.Code = "unauthorized"       // the caller's identity is unknown
	CodeTooLarge         ditto.Code = "too_large"          // a request body over the limit
	CodeMethodNotAllowed ditto.Code = "method_not_allowed" // a route asked with another method
)

// Error is an error as the API carries it: {code, message, hint}. It
// describes itself to ditto.Describe, so the CLI prints an error from the
// daemon as it prints one of its own.
type Error struct {
	Code    ditto.Code `json:"code"`
	Message string     `json:"message"`
	Hint    string     `json:"hint,omitempty"`
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + ": " + e.Hint
}

func (e *Error) ErrorCode() ditto.Code { return e.Code }
func (e *Error) ErrorMessage() string  { return e.Message }
func (e *Error) ErrorHint() string     { return e.Hint }

// Is lets errors.Is match the domain's sentinels on errors that crossed
// the API, as it does in direct mode.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case ditto.CodeNotFound:
		return target == ditto.ErrNoCopy
	case ditto.CodeNoGolden:
		return target == ditto.ErrNoGolden
	}
	return false
}

// ErrorOf is err as the API carries it.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code, message, hint := ditto.Describe(err)
	return &Error{Code: code, Message: message, Hint: hint}
}

var statuses = map[ditto.Code]int{
	ditto.CodeInvalid:        http.StatusBadRequest,
	ditto.CodeNotFound:       http.StatusNotFound,
	ditto.CodeNoGolden:       http.StatusConflict,
	ditto.CodeNoSpace:        http.StatusInsufficientStorage,
	ditto.CodePortsExhausted: http.StatusServiceUnavailable,
	ditto.CodeBusy:           http.StatusServiceUnavailable,
	ditto.CodeForbidden:      http.StatusForbidden,
	ditto.CodeInternal:       http.StatusInternalServerError,
	CodeUnauthorized:         http.StatusUnauthorized,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
}

// HTTPStatus is the status an error of the code is answered with.
func HTTPStatus(code ditto.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
