package syncproto

import "fmt"

// ValidationError is what Validate returns; its text is safe to show a client.
type ValidationError struct{ Reason string }

func (e *ValidationError) Error() string { return e.Reason }

func errorf(format string, args ...any) error {
	return &ValidationError{Reason: fmt.Sprintf(format, args...)}
}
