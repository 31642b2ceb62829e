package server

import (
	"context"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Session is what a login or a refresh returns.
type Session struct {
	AccessToken     string
	AccessExpiresAt time.Time
	// RefreshToken is opaque; the server keeps only its hash. It rotates on
	// every use and is bound to DeviceID when one is given.
	RefreshToken     string
	RefreshExpiresAt time.Time
	User             *User
	DeviceID         *int64
}

// LoginRequest is a username and password, optionally for a registered device.
type LoginRequest struct {
	Username string
	Password string
	DeviceID *int64 // bind the session to this device of the user's
	Address  string // client address, for rate limiting and logs
}

// RefreshRequest exchanges a refresh token for a new session.
type RefreshRequest struct {
	RefreshToken string
	DeviceID     *int64
	// DeviceProof is the device's Ed25519 signature over RefreshProofMessage(RefreshToken);
	// required when the token is bound to a device.
	DeviceProof []byte
	Address     string
}

// RefreshProofMessage is what a device signs to prove it holds its key when refreshing.
func RefreshProofMessage(refreshToken string) []byte {
	return syncproto.RefreshProofMessage(refreshToken)
}

// AuthService signs users in and authenticates requests.
type AuthService interface {
	// Login returns EUNAUTHORIZED for a wrong username or password (the same
	// message for both) and ERATELIMITED when attempts come too fast.
	Login(ctx context.Context, req LoginRequest) (*Session, error)
	// Refresh rotates a refresh token. A spent token presented again revokes
	// its whole family (ETOKENREUSED), except within a short grace window, where
	// the same new token is returned again: the response may have been lost.
	Refresh(ctx context.Context, req RefreshRequest) (*Session, error)
	// Logout revokes the refresh token's family.
	Logout(ctx context.Context, refreshToken string) error
	// Authenticate verifies an access token and returns its user as stored now:
	// a disabled user, a revoked device or an ended session (logout, a revoked
	// family, a password change) is refused at once.
	Authenticate(ctx context.Context, accessToken string) (*User, error)
}

// AccessClaims are what an access token says.
type AccessClaims struct {
	UserID   int64
	DeviceID *int64
	// SessionID names the login (the refresh-token family) the token was
	// issued for; the token dies with it.
	SessionID string
	ExpiresAt time.Time
}

// TokenIssuer signs and verifies access tokens. server/auth implements it.
type TokenIssuer interface {
	IssueAccess(userID int64, deviceID *int64, sessionID string) (token string, expiresAt time.Time, err error)
	// VerifyAccess returns EUNAUTHORIZED for any token it does not accept.
	VerifyAccess(token string) (*AccessClaims, error)
}

// PasswordHasher hashes and checks passwords. server/auth implements it with
// argon2id. Hashing is costly in memory and CPU, so both calls may return
// EUNAVAILABLE (with a RetryAfter) when too many run at once.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches hash; it takes as long for a
	// missing user (hash "") as for a real one.
	Verify(ctx context.Context, hash, password string) (bool, error)
}
