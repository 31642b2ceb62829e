package auth

import (
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/spotcheck/spotcheck/server"
)

// AccessTokenType is the JWT "typ" header of access tokens (RFC 9068), so no
// other kind of token can pass as one.
const AccessTokenType = "at+jwt"

// Defaults for the Issuer.
const (
	DefaultIssuer    = "spotcheck"
	DefaultAudience  = "spotcheck-api"
	DefaultAccessTTL = 10 * time.Minute
	clockLeeway      = 30 * time.Second
)

// Issuer signs and verifies access tokens with the keys of a KeySet.
type Issuer struct {
	Keys     *KeySet
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time
}

var _ server.TokenIssuer = (*Issuer)(nil)

// NewIssuer returns an Issuer with the default issuer, audience and TTL.
func NewIssuer(keys *KeySet) *Issuer {
	return &Issuer{Keys: keys, Issuer: DefaultIssuer, Audience: DefaultAudience, TTL: DefaultAccessTTL, Now: time.Now}
}

// accessClaims is the JWT body. "did" is the device the token is bound to,
// "sid" the session (login) it belongs to, checked on every request.
type accessClaims struct {
	jwt.RegisteredClaims
	DeviceID  *int64 `json:"did,omitempty"`
	SessionID string `json:"sid"`
}

// IssueAccess signs an access token for the user in session sessionID, bound
// to the device if given.
func (i *Issuer) IssueAccess(userID int64, deviceID *int64, sessionID string) (string, time.Time, error) {
	now := i.Now().UTC()
	exp := now.Add(i.TTL)
	key := i.Keys.Signing()
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.Issuer,
			Subject:   strconv.FormatInt(userID, 10),
			Audience:  jwt.ClaimStrings{i.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
		},
		DeviceID:  deviceID,
		SessionID: sessionID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.ID
	t.Header["typ"] = AccessTokenType
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// VerifyAccess checks the signature (EdDSA only, key chosen by kid), the type,
// issuer, audience and expiry. Any failure is EUNAUTHORIZED with one message,
// so a caller learns nothing about why.
func (i *Issuer) VerifyAccess(raw string) (*server.AccessClaims, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != AccessTokenType {
			return nil, fmt.Errorf("token type %q is not an access token", typ)
		}
		kid, _ := t.Header["kid"].(string)
		k := i.Keys.Lookup(kid)
		if k == nil && i.Keys.ReloadIfStale(i.Now()) {
			k = i.Keys.Lookup(kid) // another replica may have rotated
		}
		if k == nil {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return k.Public, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(i.Issuer),
		jwt.WithAudience(i.Audience),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(i.Now),
	)
	if err != nil {
		return nil, server.Errorf(server.EUNAUTHORIZED, "登录已失效，请重新登录 (invalid or expired token).")
	}
	uid, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || uid <= 0 || c.SessionID == "" || len(c.SessionID) > 100 {
		// A token without a session (issued before sessions were checked)
		// cannot be revoked: the client refreshes and gets one that can.
		return nil, server.Errorf(server.EUNAUTHORIZED, "登录已失效，请重新登录 (invalid or expired token).")
	}
	return &server.AccessClaims{UserID: uid, DeviceID: c.DeviceID, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt.Time}, nil
}
