package dialplan

import "fmt"

// userError is a one-line human message that wraps one of the sentinel
// errors, so that callers can both print it and test it with errors.Is.
type userError struct {
	msg  string
	kind error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

func notFoundf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...), kind: ErrNotFound}
}

func existsf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...), kind: ErrExists}
}
