package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Application error codes, spelled as on the wire. server/api maps them to HTTP statuses.
const (
	EINVALID       = syncproto.CodeInvalid
	EUNAUTHORIZED  = syncproto.CodeUnauthorized
	EFORBIDDEN     = syncproto.CodeForbidden
	ENOTFOUND      = syncproto.CodeNotFound
	ECONFLICT      = syncproto.CodeConflict
	ETOOLARGE      = syncproto.CodeTooLarge
	ERATELIMITED   = syncproto.CodeRateLimited
	EUNSUPPORTED   = syncproto.CodeUnsupportedType
	EUPGRADE       = syncproto.CodeUpgradeRequired
	EUNAVAILABLE   = syncproto.CodeUnavailable
	EINTERNAL      = syncproto.CodeInternal
	EDEVICEREVOKED = syncproto.CodeDeviceRevoked
	ETOKENREUSED   = syncproto.CodeTokenReused
	EREFUSED       = syncproto.CodeAttachmentRefused
	EQUOTA         = syncproto.CodeQuotaExceeded
	ENOSPACE       = syncproto.CodeInsufficientSpace
	// EPASSWORDCHANGE: the account must change its one-time password first.
	EPASSWORDCHANGE = syncproto.CodePasswordChangeRequired
	ETOOEARLY       = syncproto.CodeTooEarly
)

// Error is an application error whose Message is safe to show a client.
// Any other error reaches the client as EINTERNAL, "Internal error."
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, tells the client how long to wait before trying
	// again (ERATELIMITED, EUNAVAILABLE).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the application error in err's chain,
// "" for nil, and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the application error in err's chain,
// or "Internal error." for any other error, so internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// RetryAfter returns how long the error asks the client to wait, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
