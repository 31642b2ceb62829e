package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
)

// UploadService implements server.UploadService on the uploads table.
type UploadService struct {
	db *DB
	// Limits are read at every creation; set them before serving.
	Limits server.UploadLimits
}

var _ server.UploadService = (*UploadService)(nil)

// NewUploadService returns the service with server.DefaultUploadLimits.
func NewUploadService(db *DB) *UploadService {
	return &UploadService{db: db, Limits: server.DefaultUploadLimits}
}

// quotaRetry is what a device told its open uploads are over quota waits:
// about the time it takes to finish one on a slow link.
const quotaRetry = time.Minute

// OpenUpload implements server.UploadService.
func (s *UploadService) OpenUpload(ctx context.Context, u *server.OpenUpload) ([]string, error) {
	if err := requireRole(ctx, server.RoleInspector); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	if actor.DeviceID == nil {
		return nil, server.Errorf(server.EFORBIDDEN, "同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
	}
	device, lim := *actor.DeviceID, s.Limits
	var superseded []string
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if tx.Dialector.Name() == Postgres {
			// One creation at a time per user, so the sums below stay true
			// (SQLite runs one transaction at a time anyway). NO KEY UPDATE:
			// it still queues creations, but not the foreign-key checks of
			// the user's blobs being stored meanwhile (FOR KEY SHARE).
			var id []int64
			if err := tx.Raw("SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE", actor.ID).Scan(&id).Error; err != nil {
				return err
			}
		}
		// The uploads this creation is weighed against, read at once: the
		// user's and the device's open ones, and any holding the named ID.
		var rows []struct {
			ID       string
			UserID   int64
			DeviceID int64
			SHA256   string `gorm:"column:sha256"`
			Size     int64
		}
		if err := tx.Raw("SELECT id, user_id, device_id, sha256, size FROM uploads WHERE user_id = ? OR device_id = ? OR id = ? ORDER BY id",
			actor.ID, device, u.ID).Scan(&rows).Error; err != nil {
			return err
		}
		type open struct {
			N     int
			Bytes int64
		}
		var dev, usr open
		superseded = nil
		taken := false
		for _, r := range rows {
			if r.DeviceID == device && r.SHA256 == u.SHA256 {
				superseded = append(superseded, r.ID)
				continue
			}
			taken = taken || r.ID == u.ID
			if r.DeviceID == device {
				dev.N, dev.Bytes = dev.N+1, dev.Bytes+r.Size
			}
			if r.UserID == actor.ID {
				usr.N, usr.Bytes = usr.N+1, usr.Bytes+r.Size
			}
		}
		if len(superseded) > 0 {
			if err := tx.Exec("DELETE FROM uploads WHERE id IN ?", superseded).Error; err != nil {
				return err
			}
		}
		// An ID the device named may be taken (by anyone): it names another.
		if taken {
			return server.Errorf(server.ECONFLICT, "上传编号已被使用，请换一个 (the upload id is in use; name another).")
		}
		over := func(format string, args ...any) *server.Error {
			e := server.Errorf(server.EQUOTA, format, args...)
			e.RetryAfter = quotaRetry
			return e
		}
		switch {
		case lim.OpenPerDevice > 0 && dev.N+1 > lim.OpenPerDevice:
			return over("该设备未完成的上传已达%d个，请先完成已开始的上传 (this device has %d unfinished uploads, the most allowed; finish those first).", lim.OpenPerDevice, lim.OpenPerDevice)
		case lim.OpenBytesPerDevice > 0 && dev.Bytes+u.Size > lim.OpenBytesPerDevice:
			return over("该设备未完成的上传合计超过%d字节，请先完成已开始的上传 (this device's unfinished uploads would exceed %d bytes; finish those first).", lim.OpenBytesPerDevice, lim.OpenBytesPerDevice)
		case lim.OpenPerUser > 0 && usr.N+1 > lim.OpenPerUser:
			return over("您的设备未完成的上传已达%d个，请先完成已开始的上传 (your devices have %d unfinished uploads, the most allowed; finish those first).", lim.OpenPerUser, lim.OpenPerUser)
		case lim.OpenBytesPerUser > 0 && usr.Bytes+u.Size > lim.OpenBytesPerUser:
			return over("您的设备未完成的上传合计超过%d字节，请先完成已开始的上传 (your devices' unfinished uploads would exceed %d bytes; finish those first).", lim.OpenBytesPerUser, lim.OpenBytesPerUser)
		}
		if lim.DailyBytesPerUser > 0 {
			since := tx.Now.Add(-24 * time.Hour)
			var stored int64
			if err := tx.Raw("SELECT COALESCE(SUM(size), 0) FROM blobs WHERE uploaded_by = ? AND created_at > ?", actor.ID, since).Scan(&stored).Error; err != nil {
				return err
			}
			if stored+usr.Bytes+u.Size > lim.DailyBytesPerUser {
				var oldest []blobRow
				if err := tx.Where("uploaded_by = ? AND created_at > ?", actor.ID, since).Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
					return err
				}
				e := over("您24小时内上传的附件已超过%d字节，请稍后再传 (you stored more than %d bytes of attachments in 24 hours; upload again later).", lim.DailyBytesPerUser, lim.DailyBytesPerUser)
				if len(oldest) > 0 {
					e.RetryAfter = max(oldest[0].CreatedAt.Add(24*time.Hour).Sub(tx.Now), quotaRetry)
				}
				return e
			}
		}
		err := tx.Exec("INSERT INTO uploads (id, user_id, device_id, sha256, size, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			u.ID, actor.ID, device, u.SHA256, u.Size, tx.Now).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			// Another user's creation named the same ID between the check
			// above and this insert (the lock is per user).
			return server.Errorf(server.ECONFLICT, "上传编号已被使用，请换一个 (the upload id is in use; name another).")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return superseded, nil
}

// CloseUpload implements server.UploadService.
func (s *UploadService) CloseUpload(ctx context.Context, id string) error {
	return s.db.gorm.WithContext(ctx).Exec("DELETE FROM uploads WHERE id = ?", id).Error
}

// UploadsOpenedBefore implements server.UploadService.
func (s *UploadService) UploadsOpenedBefore(ctx context.Context, t time.Time) ([]string, error) {
	var ids []string
	err := s.db.gorm.WithContext(ctx).Raw("SELECT id FROM uploads WHERE created_at < ? ORDER BY id", t.UTC()).Scan(&ids).Error
	return ids, err
}
