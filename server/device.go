package server

import (
	"context"
	"time"
)

// Device is an inspector's registered field device. Its Ed25519 public key
// later verifies the evidence the device seals; refresh tokens are bound to it.
type Device struct {
	ID           int64
	UserID       int64
	Name         string
	PublicKey    []byte // Ed25519, 32 bytes
	CreatedAt    time.Time
	LastSeenAt   *time.Time
	RevokedAt    *time.Time
	RevokedBy    *int64
	RevokeReason string
}

// Revoked reports whether the device was revoked.
func (d *Device) Revoked() bool { return d.RevokedAt != nil }

// DeviceFilter selects devices. Nil fields match everything.
type DeviceFilter struct {
	UserID       *int64
	DepartmentID *int64
	Offset       int
	Limit        int
}

// DeviceService registers and revokes devices. An inspector registers and sees
// their own devices; a department admin sees and revokes their department's.
type DeviceService interface {
	FindDeviceByID(ctx context.Context, id int64) (*Device, error)
	FindDevices(ctx context.Context, filter DeviceFilter) ([]*Device, int, error)
	RegisterDevice(ctx context.Context, d *Device) error
	// RevokeDevice stops the device at once: its refresh tokens are revoked and
	// its access tokens are refused from the next request on.
	RevokeDevice(ctx context.Context, id int64, reason string) (*Device, error)
}
