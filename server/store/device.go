package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"time"

	"filippo.io/edwards25519"

	"github.com/spotcheck/spotcheck/server"
)

// deviceRow mirrors the devices table.
type deviceRow struct {
	ID           int64
	UserID       int64
	Name         string
	PublicKey    []byte
	CreatedAt    time.Time
	LastSeenAt   *time.Time
	RevokedAt    *time.Time
	RevokedBy    *int64
	RevokeReason string
}

func (deviceRow) TableName() string { return "devices" }

func (r *deviceRow) domain() *server.Device {
	return &server.Device{
		ID: r.ID, UserID: r.UserID, Name: r.Name, PublicKey: r.PublicKey, CreatedAt: r.CreatedAt,
		LastSeenAt: r.LastSeenAt, RevokedAt: r.RevokedAt, RevokedBy: r.RevokedBy, RevokeReason: r.RevokeReason,
	}
}

// DeviceService implements server.DeviceService.
type DeviceService struct{ db *DB }

var _ server.DeviceService = (*DeviceService)(nil)

// NewDeviceService returns the device service on db.
func NewDeviceService(db *DB) *DeviceService { return &DeviceService{db: db} }

// deviceOwner is the part of the owning user that decides who sees a device.
type deviceOwner struct {
	UserID       int64
	DepartmentID *int64
}

// canSeeDevice reports whether actor may see a device owned by o: its owner,
// the owner's department admin, and platform admins.
func canSeeDevice(actor *server.User, o deviceOwner) bool {
	switch {
	case actor.ID == o.UserID:
		return true
	case actor.Role == server.RolePlatformAdmin:
		return true
	case actor.Role == server.RoleDepartmentAdmin:
		return o.DepartmentID != nil && actor.InDepartment(*o.DepartmentID)
	}
	return false
}

func (s *DeviceService) findVisible(ctx context.Context, tx *Tx, id int64) (*deviceRow, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var r deviceRow
	if err := tx.First(&r, id).Error; err != nil {
		return nil, translate(err, objDevice)
	}
	var o deviceOwner
	if err := tx.Table("users").Select("id AS user_id, department_id").Where("id = ?", r.UserID).Take(&o).Error; err != nil {
		return nil, err
	}
	if !canSeeDevice(actor, o) {
		return nil, notFound(objDevice)
	}
	return &r, nil
}

// FindDeviceByID returns ENOTFOUND if the device does not exist or the caller may not see it.
func (s *DeviceService) FindDeviceByID(ctx context.Context, id int64) (*server.Device, error) {
	var out *server.Device
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := s.findVisible(ctx, tx, id)
		if err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// FindDevices lists the devices the caller may see.
func (s *DeviceService) FindDevices(ctx context.Context, f server.DeviceFilter) ([]*server.Device, int, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, 0, requireUser(ctx)
	}
	q := s.db.gorm.WithContext(ctx).Model(&deviceRow{}).Joins("JOIN users ON users.id = devices.user_id")
	switch actor.Role {
	case server.RolePlatformAdmin:
	case server.RoleDepartmentAdmin:
		q = q.Where("users.department_id = ?", *actor.DepartmentID)
	default:
		q = q.Where("devices.user_id = ?", actor.ID)
	}
	if f.UserID != nil {
		q = q.Where("devices.user_id = ?", *f.UserID)
	}
	if f.DepartmentID != nil {
		q = q.Where("users.department_id = ?", *f.DepartmentID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return nil, 0, err
	}
	offset, limit := page(f.Offset, f.Limit)
	var rows []deviceRow
	if err := q.Select("devices.*").Order("devices.id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	out := make([]*server.Device, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, int(n), nil
}

// RegisterDevice registers a device for the calling inspector.
func (s *DeviceService) RegisterDevice(ctx context.Context, d *server.Device) error {
	if err := requireRole(ctx, server.RoleInspector); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	switch {
	case d.Name == "" || len(d.Name) > 100:
		return server.Errorf(server.EINVALID, "设备名称须为1-100个字符 (device name must be 1-100 characters).")
	case len(d.PublicKey) != ed25519.PublicKeySize:
		return server.Errorf(server.EINVALID, "设备公钥须为32字节Ed25519公钥 (public key must be a 32-byte Ed25519 key).")
	case !usableDeviceKey(d.PublicKey):
		return server.Errorf(server.EINVALID, "设备公钥无效：不是规范编码的Ed25519公钥，或为小阶点 (public key is not a canonically encoded Ed25519 key of large order).")
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		r := deviceRow{UserID: actor.ID, Name: d.Name, PublicKey: d.PublicKey, CreatedAt: tx.Now}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objDevice)
		}
		addAudit(tx, "device.register", "device", r.ID, auditData{"user_id": r.UserID, "name": r.Name})
		*d = *r.domain()
		return nil
	})
}

// usableDeviceKey reports whether pub is the canonical encoding of a point
// on the curve that is not of small order. A small-order key (the all-zero
// encoding among them) admits signatures that verify for many messages
// without the private key any device holds; a non-canonical encoding
// names a point some verifiers read differently.
func usableDeviceKey(pub []byte) bool {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil || !bytes.Equal(p.Bytes(), pub) {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 0
}

// RevokeDevice revokes the device and every refresh token bound to it. The
// device's access tokens are refused from the next request on (Authenticate
// checks the device each time).
func (s *DeviceService) RevokeDevice(ctx context.Context, id int64, reason string) (*server.Device, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Device
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := s.findVisible(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.RevokedAt == nil {
			r.RevokedAt, r.RevokedBy, r.RevokeReason = &tx.Now, &actor.ID, reason
			if err := tx.Save(r).Error; err != nil {
				return err
			}
			addAudit(tx, "device.revoke", "device", id, auditData{"user_id": r.UserID, "reason": reason})
		}
		if err := tx.Model(&refreshTokenRow{}).Where("device_id = ? AND revoked_at IS NULL", id).Update("revoked_at", tx.Now).Error; err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}
