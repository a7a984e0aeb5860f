package ditto

import (
	"errors"
	"fmt"
)

// Code is the kind of an error: stable, so that every front end maps it
// the same way (the CLI to an exit code, the API to an HTTP status) without
// reading the message.
type Code string

const (
	CodeInvalid        Code = "invalid"         // a bad argument, option or input file
	CodeNotFound       Code = "not_found"       // no such copy
	CodeNoGolden       Code = "no_golden"       // no reseed has built a golden yet
	CodeNoSpace        Code = "no_space"        // the pool is below its free-space floor
	CodePortsExhausted Code = "ports_exhausted" // every port of the range is taken
	CodeBusy           Code = "busy"            // another process works on the same thing
	CodeForbidden      Code = "forbidden"       // the caller may not do this (admins only)
	CodeInternal       Code = "internal"        // anything else
)

// Error is an error with a kind, a message saying what failed, and a hint
// saying what to do next.
type Error struct {
	Code    Code
	Message string
	Hint    string
	// kind is a sentinel such as ErrNoCopy that errors.Is matches; it is
	// not printed.
	kind error
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + ": " + e.Hint
}

func (e *Error) Is(target error) bool { return e.kind != nil && e.kind == target }

func (e *Error) ErrorCode() Code      { return e.Code }
func (e *Error) ErrorMessage() string { return e.Message }
func (e *Error) ErrorHint() string    { return e.Hint }

// errorf makes an *Error with a hint and a formatted message.
func errorf(code Code, hint, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// invalidf makes a CodeInvalid *Error whose message says what to do.
func invalidf(format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// coded is an error that knows its kind and hint (*Error and the few error
// types that carry more for their callers).
type coded interface {
	error
	ErrorCode() Code
	ErrorMessage() string
	ErrorHint() string
}

// Describe splits err into its code, message and hint. An error without a
// kind is CodeInternal with its whole text as the message.
func Describe(err error) (code Code, message, hint string) {
	var c coded
	if errors.As(err, &c) {
		return c.ErrorCode(), c.ErrorMessage(), c.ErrorHint()
	}
	return CodeInternal, err.Error(), ""
}
