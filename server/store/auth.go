package store

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/username"
)

// refreshTokenRow mirrors the refresh_tokens table. The token itself is never
// stored, only its SHA-256.
type refreshTokenRow struct {
	ID        int64
	FamilyID  string
	UserID    int64
	DeviceID  *int64
	TokenHash string
	ParentID  *int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

// Refresh-token lifetimes.
const (
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// DefaultRefreshGrace is how long after a rotation a retry of the spent
	// token gets the same new token back instead of revoking the family: long
	// enough for a response lost in a tunnel, short enough to keep reuse
	// detection meaningful.
	DefaultRefreshGrace = 60 * time.Second
)

// AuthService implements server.AuthService.
type AuthService struct {
	db        *DB
	tokens    server.TokenIssuer
	passwords server.PasswordHasher
	// refreshSecret keys the HMAC that derives a rotated refresh token from its
	// parent, so a retry within the grace window can be given the same token
	// without the server storing any token.
	refreshSecret []byte

	RefreshTTL   time.Duration
	RefreshGrace time.Duration
	// Throttle, when set, holds back logins after failed passwords.
	Throttle *LoginThrottle
}

var _ server.AuthService = (*AuthService)(nil)

// NewAuthService returns the auth service. refreshSecret must be at least 32
// random bytes, kept across restarts.
func NewAuthService(db *DB, tokens server.TokenIssuer, passwords server.PasswordHasher, refreshSecret []byte) *AuthService {
	return &AuthService{
		db: db, tokens: tokens, passwords: passwords, refreshSecret: refreshSecret,
		RefreshTTL: DefaultRefreshTTL, RefreshGrace: DefaultRefreshGrace,
	}
}

var errBadLogin = server.Errorf(server.EUNAUTHORIZED, "用户名或密码错误 (wrong username or password).")
var errBadRefresh = server.Errorf(server.EUNAUTHORIZED, "登录已失效，请重新登录 (refresh token is invalid or expired).")
var errDeviceRevoked = server.Errorf(server.EDEVICEREVOKED, "此设备已被停用，请联系管理员 (this device was revoked; contact your administrator).")
var errBadAccess = server.Errorf(server.EUNAUTHORIZED, "登录已失效，请重新登录 (invalid or expired token).")

// Login checks the password and starts a new refresh-token family (a session).
func (s *AuthService) Login(ctx context.Context, req server.LoginRequest) (*server.Session, error) {
	// A name that cannot be normalized names no account: it is still checked
	// against a dummy hash and counted, like any unknown name.
	name, nameErr := username.Normalize(req.Username)
	if nameErr != nil {
		name = strings.TrimSpace(req.Username)
	}
	var attempt *loginAttempt
	if s.Throttle != nil {
		var err error
		if attempt, err = s.Throttle.begin(ctx, name, req.Address); err != nil {
			return nil, err
		}
	}
	var r userRow
	if nameErr == nil {
		err := s.db.gorm.WithContext(ctx).Where("username = ?", name).Take(&r).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errors.Join(err, attempt.undo(ctx))
		}
	}
	// Verify even for a missing user, so timing does not tell which usernames exist.
	ok, err := s.passwords.Verify(ctx, r.PasswordHash, req.Password)
	if err != nil {
		return nil, errors.Join(err, attempt.undo(ctx)) // busy: not a failed attempt
	}
	if !ok || r.ID == 0 || r.DisabledAt != nil {
		if err := attempt.failed(ctx); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	if err := attempt.succeeded(ctx); err != nil {
		return nil, err
	}
	var sess *server.Session
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		if req.DeviceID != nil {
			if _, err := usableDevice(tx, *req.DeviceID, r.ID); err != nil {
				return err
			}
		}
		token, err := newRandomToken()
		if err != nil {
			return err
		}
		family, err := newRandomToken()
		if err != nil {
			return err
		}
		row := refreshTokenRow{
			FamilyID: family, UserID: r.ID, DeviceID: req.DeviceID, TokenHash: hashToken(token),
			CreatedAt: tx.Now, ExpiresAt: tx.Now.Add(s.RefreshTTL),
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		sess, err = s.session(r.domain(), req.DeviceID, family, token, row.ExpiresAt)
		return err
	})
	return sess, err
}

// usableDevice returns the device if it belongs to the user and is not revoked.
func usableDevice(tx *Tx, deviceID, userID int64) (*deviceRow, error) {
	var d deviceRow
	if err := tx.First(&d, deviceID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, notFound(objDevice)
		}
		return nil, err
	}
	if d.UserID != userID {
		return nil, notFound(objDevice)
	}
	if d.RevokedAt != nil {
		return nil, errDeviceRevoked
	}
	return &d, nil
}

// Refresh rotates the refresh token; see server.AuthService.
func (s *AuthService) Refresh(ctx context.Context, req server.RefreshRequest) (*server.Session, error) {
	if req.RefreshToken == "" || len(req.RefreshToken) > 200 {
		return nil, errBadRefresh
	}
	var (
		sess   *server.Session
		reused bool
	)
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var row refreshTokenRow
		if err := tx.Where("token_hash = ?", hashToken(req.RefreshToken)).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errBadRefresh
			}
			return err
		}
		if row.DeviceID != nil {
			// The proof comes first: only the device's own key learns that the
			// device was revoked, which its SDK needs to know to keep unsynced
			// data for re-enrolment instead of just asking for a new login.
			if req.DeviceID == nil || *req.DeviceID != *row.DeviceID {
				return errBadRefresh
			}
			var d deviceRow
			if err := tx.First(&d, *row.DeviceID).Error; err != nil {
				return err
			}
			if !ed25519.Verify(d.PublicKey, server.RefreshProofMessage(req.RefreshToken), req.DeviceProof) {
				return errBadRefresh
			}
			if d.RevokedAt != nil {
				return errDeviceRevoked
			}
			if row.RevokedAt == nil {
				if err := tx.Model(&d).Update("last_seen_at", tx.Now).Error; err != nil {
					return err
				}
			}
		}
		if row.RevokedAt != nil || !tx.Now.Before(row.ExpiresAt) {
			return errBadRefresh
		}
		var u userRow
		if err := tx.First(&u, row.UserID).Error; err != nil {
			return err
		}
		if u.DisabledAt != nil {
			return errBadRefresh
		}
		child := s.childToken(req.RefreshToken)

		// Claim the token. Of two concurrent refreshes only one updates the
		// row; the other sees it spent and takes the grace path below.
		res := tx.Model(&refreshTokenRow{}).Where("id = ? AND used_at IS NULL", row.ID).Update("used_at", tx.Now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			next := refreshTokenRow{
				FamilyID: row.FamilyID, UserID: row.UserID, DeviceID: row.DeviceID, TokenHash: hashToken(child),
				ParentID: &row.ID, CreatedAt: tx.Now, ExpiresAt: tx.Now.Add(s.RefreshTTL),
			}
			if err := tx.Create(&next).Error; err != nil {
				return err
			}
			var err error
			sess, err = s.session(u.domain(), row.DeviceID, row.FamilyID, child, next.ExpiresAt)
			return err
		}

		// Spent. Within the grace window, and while its successor is unused, a
		// retry gets the same successor back: the response may have been lost.
		if err := tx.First(&row, row.ID).Error; err != nil {
			return err
		}
		var next refreshTokenRow
		err := tx.Where("parent_id = ?", row.ID).Take(&next).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		inGrace := row.UsedAt != nil && tx.Now.Sub(*row.UsedAt) <= s.RefreshGrace
		if inGrace && next.ID != 0 && next.UsedAt == nil && next.RevokedAt == nil {
			sess, err = s.session(u.domain(), row.DeviceID, row.FamilyID, child, next.ExpiresAt)
			return err
		}
		// Reuse of a spent token: whoever holds the family may be an attacker.
		reused = true
		return tx.Model(&refreshTokenRow{}).Where("family_id = ? AND revoked_at IS NULL", row.FamilyID).Update("revoked_at", tx.Now).Error
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, server.Errorf(server.ETOKENREUSED, "登录凭证已被重复使用，已全部注销，请重新登录 (a spent refresh token was reused; all sessions of this login were revoked).")
	}
	return sess, nil
}

// Logout revokes the family of the refresh token. An unknown token is not an error.
func (s *AuthService) Logout(ctx context.Context, refreshToken string) error {
	return s.db.WithTx(ctx, func(tx *Tx) error {
		var row refreshTokenRow
		if err := tx.Where("token_hash = ?", hashToken(refreshToken)).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil
			}
			return err
		}
		return tx.Model(&refreshTokenRow{}).Where("family_id = ? AND revoked_at IS NULL", row.FamilyID).Update("revoked_at", tx.Now).Error
	})
}

// Authenticate verifies the access token and loads its user, device and
// session now: a logout, a revoked family or a password change stops the
// token at the next request.
func (s *AuthService) Authenticate(ctx context.Context, accessToken string) (*server.User, error) {
	claims, err := s.tokens.VerifyAccess(accessToken)
	if err != nil {
		return nil, err
	}
	// One statement outside a transaction: every request runs this, and a
	// transaction would hold a pooled connection for four round trips. The
	// session is the first refresh token of the family (parent_id IS NULL):
	// every revocation marks the whole family, that row included.
	var rows []struct {
		ID, DeviceUserID, SessionUserID *int64
		Username, DisplayName, Role     string
		DepartmentID, InspectorID       *int64
		PasswordChangeRequired          bool
		DisabledAt, DeviceRevokedAt     *time.Time
		SessionRevokedAt                *time.Time
		CreatedAt, UpdatedAt            time.Time
	}
	deviceID := int64(0)
	if claims.DeviceID != nil {
		deviceID = *claims.DeviceID
	}
	err = s.db.gorm.WithContext(ctx).Raw(`SELECT u.id, u.username, u.display_name, u.role, u.department_id, u.inspector_id,
		u.password_change_required, u.disabled_at, u.created_at, u.updated_at,
		d.user_id AS device_user_id, d.revoked_at AS device_revoked_at,
		t.user_id AS session_user_id, t.revoked_at AS session_revoked_at
		FROM users u LEFT JOIN devices d ON d.id = ?
		LEFT JOIN refresh_tokens t ON t.family_id = ? AND t.parent_id IS NULL
		WHERE u.id = ?`, deviceID, claims.SessionID, claims.UserID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 || rows[0].ID == nil || rows[0].DisabledAt != nil {
		return nil, errBadAccess
	}
	r := rows[0]
	if claims.DeviceID != nil {
		switch {
		case r.DeviceUserID == nil || *r.DeviceUserID != *r.ID:
			return nil, errBadAccess
		case r.DeviceRevokedAt != nil:
			return nil, errDeviceRevoked
		}
	}
	if r.SessionUserID == nil || *r.SessionUserID != *r.ID || r.SessionRevokedAt != nil {
		return nil, errBadAccess
	}
	u := (&userRow{ID: *r.ID, Username: r.Username, DisplayName: r.DisplayName, Role: r.Role, DepartmentID: r.DepartmentID,
		InspectorID: r.InspectorID, PasswordChangeRequired: r.PasswordChangeRequired, DisabledAt: r.DisabledAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}).domain()
	u.DeviceID = claims.DeviceID
	u.SessionID = claims.SessionID
	return u, nil
}

func (s *AuthService) session(u *server.User, deviceID *int64, family, refresh string, refreshExp time.Time) (*server.Session, error) {
	access, exp, err := s.tokens.IssueAccess(u.ID, deviceID, family)
	if err != nil {
		return nil, err
	}
	u.DeviceID = deviceID
	u.SessionID = family
	return &server.Session{
		AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, RefreshExpiresAt: refreshExp,
		User: u, DeviceID: deviceID,
	}, nil
}

// childToken derives the token that replaces parent on rotation.
func (s *AuthService) childToken(parent string) string {
	m := hmac.New(sha256.New, s.refreshSecret)
	m.Write([]byte("spotcheck/refresh/child\x00"))
	m.Write([]byte(parent))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newRandomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
