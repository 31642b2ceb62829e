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
	// CodeAttachmentRefused: the attachment's content is not the image it
	// claims to be; it was not kept, and a mutation referring to it is
	// rejected with this code. Uploading the same file again cannot succeed.
	CodeAttachmentRefused = "attachment_refused"
	CodeQuotaExceeded     = "quota_exceeded"       // a per-device or per-user upload quota is used up; see Retry-After
	CodeInsufficientSpace = "insufficient_storage" // the server's disk is nearly full; see Retry-After
	// CodePasswordChangeRequired: the account signed in with a one-time
	// password; only /v1/me and the change-password route answer until it is changed.
	CodePasswordChangeRequired = "password_change_required"
	CodeTooEarly               = "too_early" // what it depends on is not known yet (a draw before its randomness is public)
)

// Error is the body of every error response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID ties the response to the server's log line.
	RequestID string `json:"request_id,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
