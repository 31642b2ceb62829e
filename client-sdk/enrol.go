package sdk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Enrol signs the inspector in on this device. The first time, it makes the
// device's Ed25519 key (kept in the local store; only the public key leaves
// the device), registers the device and starts a device-bound session. Later
// calls for the same user and server just sign in again with the registered
// device (after ErrAuth). After ErrRevoked it registers a new device with a
// new key and renumbers the unsynced outbox for it, losing nothing.
func (c *Client) Enrol(ctx context.Context, serverURL, username, password, deviceName string) error {
	if serverURL == "" {
		serverURL = c.cfg.ServerURL
	}
	serverURL = strings.TrimRight(serverURL, "/")
	if serverURL == "" {
		return invalid("a server URL is required")
	}
	if deviceName == "" {
		deviceName = "spotcheck-field"
	}
	login := syncproto.LoginRequest{Username: username, Password: password}
	if err := login.Validate(); err != nil {
		return invalid("%v", err)
	}
	old, err := c.device(c.db)
	if err != nil && !errors.Is(err, ErrNotEnrolled) {
		return err
	}
	if old != nil && (old.ServerURL != serverURL || !strings.EqualFold(old.Username, username)) {
		n, err := c.outboxLen()
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: this device holds %d unsynced changes of %s on %s; sync or export them before enrolling another account",
				ErrInvalid, n, old.Username, old.ServerURL)
		}
	}

	// Same user, same server, device still usable: sign in again.
	if old != nil && old.ServerURL == serverURL && strings.EqualFold(old.Username, username) && old.DeviceID.Valid && old.RevokedAt == "" {
		id := old.DeviceID.Int64
		login.DeviceID = &id
		sess, err := c.login(ctx, serverURL, login)
		if err != nil {
			return err
		}
		if err := passwordChangeRequired(sess); err != nil {
			return err
		}
		return c.saveSession(sess, nil, nil, id, serverURL, username, false)
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	sess, err := c.login(ctx, serverURL, login)
	if err != nil {
		return err
	}
	if err := passwordChangeRequired(sess); err != nil {
		return err
	}
	reg := syncproto.RegisterDeviceRequest{Name: deviceName, PublicKey: pub}
	body, _ := json.Marshal(reg)
	resp, err := c.send(ctx, serverURL, sess.AccessToken, request{method: http.MethodPost, path: syncproto.PathDevices, body: body})
	if err != nil {
		return fmt.Errorf("register the device: %w", err)
	}
	var dev syncproto.Device
	if err := json.Unmarshal(resp.body, &dev); err != nil || dev.ID <= 0 {
		return fmt.Errorf("register the device: undecodable answer: %v", err)
	}
	login.DeviceID = &dev.ID
	sess, err = c.login(ctx, serverURL, login)
	if err != nil {
		return err
	}
	return c.saveSession(sess, priv, pub, dev.ID, serverURL, username, old != nil)
}

// passwordChangeRequired is ErrPasswordChange for a session of an account
// whose password is a one-time one: nothing but changing it would work.
func passwordChangeRequired(sess *syncproto.Session) error {
	if sess.User.PasswordChangeRequired {
		return fmt.Errorf("%w: 请先修改一次性密码 (the password is a one-time one; change it first)", ErrPasswordChange)
	}
	return nil
}

// ChangePassword changes the account's password on the server, given the
// current one: the way past ErrPasswordChange. It signs in without the
// device, changes the password and signs that session out; every other
// session of the account ends too, so Enrol again with the new password.
func (c *Client) ChangePassword(ctx context.Context, serverURL, username, current, next string) error {
	serverURL = strings.TrimRight(serverURL, "/")
	if serverURL == "" {
		return invalid("a server URL is required")
	}
	login := syncproto.LoginRequest{Username: username, Password: current}
	if err := login.Validate(); err != nil {
		return invalid("%v", err)
	}
	sess, err := c.login(ctx, serverURL, login)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(syncproto.ChangePasswordRequest{CurrentPassword: current, NewPassword: next})
	if _, err := c.send(ctx, serverURL, sess.AccessToken, request{method: http.MethodPost, path: syncproto.PathPassword, body: body}); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return fmt.Errorf("%w: %s", ErrInvalid, ae.Message)
		}
		return fmt.Errorf("change the password: %w", err)
	}
	out, _ := json.Marshal(syncproto.LogoutRequest{RefreshToken: sess.RefreshToken})
	if _, err := c.send(ctx, serverURL, "", request{method: http.MethodPost, path: syncproto.PathLogout, body: out}); err != nil {
		c.log.WarnContext(ctx, "sign-out after the password change failed", "err", err)
	}
	return nil
}

func (c *Client) login(ctx context.Context, serverURL string, req syncproto.LoginRequest) (*syncproto.Session, error) {
	body, _ := json.Marshal(req)
	var sess syncproto.Session
	err := c.retry(ctx, func() error {
		resp, err := c.send(ctx, serverURL, "", request{method: http.MethodPost, path: syncproto.PathLogin, body: body})
		if err != nil {
			return err
		}
		return json.Unmarshal(resp.body, &sess)
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: %s", ErrAuth, ae.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if sess.AccessToken == "" {
		return nil, fmt.Errorf("sign in: no token in the answer")
	}
	return &sess, nil
}

// saveSession stores the session (and, for a new device, its key) in one
// transaction. renumber: a new device replaces an old one, so the unsynced
// outbox is renumbered from 1 for it.
func (c *Client) saveSession(sess *syncproto.Session, priv ed25519.PrivateKey, pub ed25519.PublicKey, deviceID int64, serverURL, username string, renumber bool) error {
	user, _ := json.Marshal(sess.User)
	return c.tx(func(tx *gorm.DB) error {
		if priv != nil {
			if err := tx.Exec(`DELETE FROM device`).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO device (id, server_url, device_id, private_key, public_key, username) VALUES (1, ?, ?, ?, ?, ?)`,
				serverURL, deviceID, []byte(priv), []byte(pub), username).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`UPDATE device SET user_json = ?, access_token = ?, access_expires_at = ?, refresh_token = ?, needs_login = 0, revoked_at = '' WHERE id = 1`,
			string(user), sess.AccessToken, ts(sess.AccessExpiresAt), sess.RefreshToken).Error; err != nil {
			return err
		}
		if renumber {
			return renumberOutbox(tx, deviceID, priv)
		}
		return nil
	})
}

// renumberOutbox numbers the unsynced mutations 1, 2, 3… for a newly
// registered device, keeping their order and every reference to them.
//
// A queued seal (of a section or a close) names the old device and carries
// its signature, which the server would refuse from the new one; it is
// sealed again for the new device with its key, the content otherwise
// unchanged (same answers, same device time of sealing). The local copy of
// the original seal stays, as sealed records are immutable.
func renumberOutbox(tx *gorm.DB, deviceID int64, priv ed25519.PrivateKey) error {
	var rows []struct {
		Seq  uint64
		Body string
	}
	if err := tx.Raw(`SELECT seq, body FROM outbox ORDER BY seq`).Scan(&rows).Error; err != nil {
		return err
	}
	resealed := map[string]syncproto.SectionRef{} // a section's old hash → its new seal
	// Move out of the way first, then into place.
	if err := tx.Exec(`UPDATE outbox SET seq = -seq`).Error; err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE answers SET pending_seq = -pending_seq WHERE pending_seq IS NOT NULL`).Error; err != nil {
		return err
	}
	for i, r := range rows {
		var m syncproto.Mutation
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			return err
		}
		m.Seq = uint64(i + 1)
		if err := reseal(&m, deviceID, priv, resealed); err != nil {
			return err
		}
		body, _ := json.Marshal(m)
		if err := tx.Exec(`UPDATE outbox SET seq = ?, body = ? WHERE seq = ?`, m.Seq, string(body), -int64(r.Seq)).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE answers SET pending_seq = ? WHERE pending_seq = ?`, m.Seq, -int64(r.Seq)).Error; err != nil {
			return err
		}
	}
	if err := tx.Exec(`UPDATE answers SET pending_seq = NULL WHERE pending_seq < 0`).Error; err != nil {
		return err
	}
	return tx.Exec(`UPDATE sync_state SET next_seq = ?, cursor = '', last_applied_seq = 0 WHERE id = 1`, len(rows)+1).Error
}

// reseal makes a queued seal the same content sealed by device deviceID
// with priv. A close that names a section resealed here names its new hash.
func reseal(m *syncproto.Mutation, deviceID int64, priv ed25519.PrivateKey, resealed map[string]syncproto.SectionRef) error {
	switch {
	case m.Seal != nil:
		old := m.Seal.Hash
		m.Seal.Section.DeviceID = deviceID
		hash, err := syncproto.CanonicalHash(&m.Seal.Section)
		if err != nil {
			return err
		}
		m.Seal.Hash, m.Seal.Signature = hash, ed25519.Sign(priv, syncproto.SectionSealMessage(hash))
		resealed[old] = syncproto.SectionRef{Department: m.Seal.Section.Department, Version: m.Seal.Section.Version, Hash: hash}
	case m.SealClose != nil:
		r := &m.SealClose.Record
		r.DeviceID = deviceID
		for i, c := range r.Covers {
			if n, ok := resealed[c.Hash]; ok {
				r.Covers[i] = n
			}
		}
		hash, err := syncproto.CanonicalHash(r)
		if err != nil {
			return err
		}
		m.SealClose.Hash, m.SealClose.Signature = hash, ed25519.Sign(priv, syncproto.CloseSealMessage(hash))
	}
	return nil
}

// Me is the signed-in user as the server last described them.
func (c *Client) Me(ctx context.Context) (*syncproto.Me, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := c.device(c.db)
	if err != nil {
		return nil, err
	}
	var me syncproto.Me
	if err := json.Unmarshal([]byte(d.UserJSON), &me); err != nil {
		return nil, err
	}
	return &me, nil
}

// DeviceID is the server's id of this device, 0 before enrolment.
func (c *Client) DeviceID() int64 {
	d, err := c.device(c.db)
	if err != nil || !d.DeviceID.Valid {
		return 0
	}
	return d.DeviceID.Int64
}

// PublicKey is the device's Ed25519 public key.
func (c *Client) PublicKey(ctx context.Context) (ed25519.PublicKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := c.device(c.db)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(d.PublicKey), nil
}

// SetServerURL moves the device to serverURL: the same server reached at a
// new address (a new domain, a proxy in front). The session, the outbox and
// the pull cursor are kept, so nothing is sent again; resumable uploads
// started at the old address start again at the new one, and the token is
// sent to the new address only from now on.
func (c *Client) SetServerURL(ctx context.Context, serverURL string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimRight(serverURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return invalid("the server URL must be http(s)://HOST[:PORT][/PATH], got %q", serverURL)
	}
	if _, err := c.device(c.db); err != nil {
		return err
	}
	return c.tx(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE device SET server_url = ? WHERE id = 1`, u.String()).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE attachments SET upload_url = '' WHERE upload_url != ''`).Error
	})
}
