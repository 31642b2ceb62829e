package sdk

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Errors a caller tells apart with errors.Is.
var (
	// ErrOffline: the server could not be reached (no network, a timeout, a
	// cut). Nothing was lost; sync again later.
	ErrOffline = errors.New("sdk: server unreachable")
	// ErrAuth: the session is gone and the inspector must log in again. The
	// device keeps its unsynced data.
	ErrAuth = errors.New("sdk: authentication failed")
	// ErrRevoked: an administrator revoked this device. Pushing stops; the
	// data stays on the device for export or re-enrolment.
	ErrRevoked = errors.New("sdk: device revoked")
	// ErrRejected: the server rejected at least one mutation; see Rejections.
	ErrRejected = errors.New("sdk: a change was rejected")
	// ErrUpgradeRequired: the server no longer accepts this protocol version.
	ErrUpgradeRequired = errors.New("sdk: upgrade the app")
	// ErrStorageFull: the device's storage is full; nothing was written.
	ErrStorageFull = errors.New("sdk: device storage full")
	// ErrNotEnrolled: Enrol has not been called on this data directory.
	ErrNotEnrolled = errors.New("sdk: device not enrolled")
	// ErrSealed: the section is sealed; open a correction to change it.
	ErrSealed = errors.New("sdk: record sealed")
	// ErrInvalid: the input breaks a rule; nothing was written.
	ErrInvalid = errors.New("sdk: invalid input")
	// ErrForbidden: the inspector may not do this: answer or seal another
	// department's section, or work on a packet of another team.
	ErrForbidden = errors.New("sdk: not allowed")
	// ErrNotFound: no such packet, item or attachment on the device.
	ErrNotFound = errors.New("sdk: not found")
	// ErrForeignOrigin: the server named (in an upload's Location or a
	// redirect) a URL on another scheme, host or port than the configured
	// server; the SDK sends neither its token nor data there.
	ErrForeignOrigin = errors.New("sdk: refused a URL on another origin than the server")
	// ErrPasswordChange: the account has a one-time password (new, or reset
	// by an administrator); change it with ChangePassword, then Enrol again.
	ErrPasswordChange = errors.New("sdk: change the one-time password first")
)

// APIError is an error response from the server. It wraps one of the
// sentinel errors above where one applies.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RequestID  string
	RetryAfter time.Duration
	kind       error
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("server: %d %s: %s", e.Status, e.Code, e.Message)
	if e.kind != nil {
		s = e.kind.Error() + ": " + s
	}
	return s
}

func (e *APIError) Unwrap() error { return e.kind }

// transient reports whether retrying the same request later may succeed.
func (e *APIError) transient() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

func newAPIError(status int, body *syncproto.Error, retryAfter time.Duration) *APIError {
	e := &APIError{Status: status, RetryAfter: retryAfter}
	if body != nil {
		e.Code, e.Message, e.RequestID = body.Code, body.Message, body.RequestID
	}
	switch {
	case status == http.StatusUpgradeRequired || e.Code == syncproto.CodeUpgradeRequired:
		e.kind = ErrUpgradeRequired
	case e.Code == syncproto.CodeDeviceRevoked:
		e.kind = ErrRevoked
	case e.Code == syncproto.CodePasswordChangeRequired:
		e.kind = ErrPasswordChange
	case status == http.StatusUnauthorized:
		e.kind = ErrAuth
	case status == http.StatusTooManyRequests || status >= 500:
		e.kind = ErrOffline
	}
	return e
}

// isTransient reports whether err is worth retrying with backoff.
func isTransient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.transient()
	}
	return errors.Is(err, ErrOffline)
}

// storageErr maps SQLite's "disk full" to ErrStorageFull, keeping the cause.
func storageErr(err error) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	if strings.Contains(s, "database or disk is full") || strings.Contains(s, "SQLITE_FULL") {
		return fmt.Errorf("%w: %v", ErrStorageFull, err)
	}
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
