package syncproto

import "time"

// Paths of the account and device endpoints the field SDK uses.
const (
	PathLogin   = "/v1/auth/login"
	PathRefresh = "/v1/auth/refresh"
	PathLogout  = "/v1/auth/logout"
	PathMe      = "/v1/me"
	// PathPassword changes the signed-in user's own password.
	PathPassword = "/v1/me/password"
	PathDevices  = "/v1/devices"
)

// LoginRequest signs in with a username and password. With DeviceID, the
// session's refresh token is bound to that registered device of the user.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	DeviceID *int64 `json:"device_id,omitempty"`
}

// Validate reports the first rule the request breaks.
func (r *LoginRequest) Validate() error {
	switch {
	case r.Username == "" || r.Password == "":
		return errorf("username and password are required")
	case len(r.Username) > 64 || len(r.Password) > 256:
		return errorf("username or password too long")
	case r.DeviceID != nil && *r.DeviceID <= 0:
		return errorf("device_id must be positive")
	}
	return nil
}

// RefreshRequest exchanges a refresh token for a new session. For a token
// bound to a device, DeviceID and DeviceProof are required: DeviceProof is the
// device's Ed25519 signature over RefreshProofMessage(RefreshToken).
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	DeviceID     *int64 `json:"device_id,omitempty"`
	DeviceProof  []byte `json:"device_proof,omitempty"` // base64 in JSON
}

// Validate reports the first rule the request breaks.
func (r *RefreshRequest) Validate() error {
	switch {
	case r.RefreshToken == "":
		return errorf("refresh_token is required")
	case len(r.RefreshToken) > 200:
		return errorf("refresh_token too long")
	case len(r.DeviceProof) > 64:
		return errorf("device_proof too long")
	}
	return nil
}

// RefreshProofMessage is what a device signs to prove it holds its key when refreshing.
func RefreshProofMessage(refreshToken string) []byte {
	return append([]byte("spotcheck/refresh/v1\x00"), refreshToken...)
}

// LogoutRequest revokes the refresh token's whole family.
type LogoutRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Validate reports the first rule the request breaks.
func (r *LogoutRequest) Validate() error {
	if r.RefreshToken == "" || len(r.RefreshToken) > 200 {
		return errorf("refresh_token is required")
	}
	return nil
}

// Session is the answer to a login or a refresh.
type Session struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"` // always "Bearer"
	AccessExpiresAt  time.Time `json:"access_expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	User             Me        `json:"user"`
	DeviceID         *int64    `json:"device_id,omitempty"`
}

// Me describes the signed-in user.
type Me struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`
	DepartmentID *int64 `json:"department_id,omitempty"`
	InspectorID  *int64 `json:"inspector_id,omitempty"`
	// PasswordChangeRequired: the password is a one-time one; until it is
	// changed (PathPassword) other routes answer CodePasswordChangeRequired.
	PasswordChangeRequired bool `json:"must_change_password,omitempty"`
}

// ChangePasswordRequest changes the signed-in user's password; the current
// one proves it is the user at the keyboard.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// RegisterDeviceRequest registers the calling inspector's device.
type RegisterDeviceRequest struct {
	Name      string `json:"name"`
	PublicKey []byte `json:"public_key"` // Ed25519, 32 bytes; base64 in JSON
}

// Validate reports the first rule the request breaks.
func (r *RegisterDeviceRequest) Validate() error {
	switch {
	case r.Name == "" || len(r.Name) > 100:
		return errorf("name must be 1-100 bytes")
	case len(r.PublicKey) != 32:
		return errorf("public_key must be a 32-byte Ed25519 key")
	}
	return nil
}

// Device is a registered device.
type Device struct {
	ID           int64      `json:"id"`
	UserID       int64      `json:"user_id"`
	Name         string     `json:"name"`
	PublicKey    []byte     `json:"public_key"`
	CreatedAt    time.Time  `json:"created_at"`
	LastSeenAt   *time.Time `json:"last_seen_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}
