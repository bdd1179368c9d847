package remote

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error returned by a decoder, by Decompress or by a
// header parser wraps exactly one of them, so a receiver can pick the HTTP
// status with errors.Is and still show the detailed message to the sender.
var (
	// ErrInvalid marks a request that is malformed or breaks a rule of the
	// protocol (HTTP 400 Bad Request).
	ErrInvalid = errors.New("invalid remote-write request")
	// ErrTooLarge marks a request that exceeds a configured limit
	// (HTTP 413 Content Too Large).
	ErrTooLarge = errors.New("remote-write request too large")
	// ErrUnsupported marks a content type or content encoding this package
	// does not speak (HTTP 415 Unsupported Media Type).
	ErrUnsupported = errors.New("unsupported remote-write content type or encoding")
)

// errOverLimit stops a pass that checks the limits as it reads (the
// Transcoder's); its caller then counts the request to report which limit,
// with the message a counting pass gives.
var errOverLimit = tooLargef("request over the limits")

// protoError is a decoding failure. Its message says what was wrong; callers
// prefix where it happened ("series 12: ") with fmt.Errorf and %w, so the
// chain still reaches kind.
type protoError struct {
	msg  string
	kind error
}

func (e *protoError) Error() string { return e.msg }
func (e *protoError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &protoError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

func tooLargef(format string, args ...any) error {
	return &protoError{msg: fmt.Sprintf(format, args...), kind: ErrTooLarge}
}

func unsupportedf(format string, args ...any) error {
	return &protoError{msg: fmt.Sprintf(format, args...), kind: ErrUnsupported}
}

// quote quotes s for an error message. Input is hostile and error messages
// end up in HTTP responses and logs, so long strings are cut short.
func quote[T string | []byte](s T) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(string(s[:max])) + "..."
	}
	return strconv.Quote(string(s))
}

// errAt prefixes err with where it happened ("series 12", "labels"),
// keeping the chain for errors.Is.
func errAt(where string, err error) error {
	return fmt.Errorf("%s: %w", where, err)
}

// errAtIndex is errAt for the i-th element of a repeated field.
func errAtIndex(what string, i int, err error) error {
	return fmt.Errorf("%s %d: %w", what, i, err)
}
