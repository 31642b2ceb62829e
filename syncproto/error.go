package syncproto

// Error codes, spelled as on the wire. Append only: never rename or remove one.
const (
	CodeInvalid         = "invalid"          // the request breaks a rule; the message says which
	CodeUnauthorized    = "unauthorized"     // no, expired or bad credentials
	CodeForbidden       = "forbidden"        // authenticated, but the role may not do this
	CodeNotFound        = "not_found"        // no such object, or not visible to the caller
	CodeConflict        = "conflict"         // the change conflicts with the current state
	CodeTooLarge        = "too_large"        // the body is over its limit
	CodeRateLimited     = "rate_limited"     // too many requests; see Retry-After
	CodeUnsupportedType = "unsupported_type" // the content type is not accepted here
	CodeUpgradeRequired = "upgrade_required" // the client speaks a protocol version the server no longer accepts
	CodeUnavailable     = "unavailable"      // the server cannot serve now; retry later
	CodeInternal        = "internal"         // anything else; details are logged, never sent
	CodeDeviceRevoked   = "device_revoked"   // the device was revoked by an administrator
	CodeTokenReused     = "token_reused"     // a spent refresh token was presented; its family is revoked
	CodeTooEarly        = "too_early"        // what it depends on is not known yet (a draw before its randomness is public)
)

// Error is the body of every error response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID ties the response to the server's log line.
	RequestID string `json:"request_id,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
