package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
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

// openRow is an upload a creation is weighed against.
type openRow struct {
	ID       string
	UserID   int64
	DeviceID int64
	SHA256   string `gorm:"column:sha256"`
	Size     int64
}

// openUploadsQuery reads the uploads a creation is weighed against, at once:
// the user's and the device's open ones, and any holding the named ID.
// storedTodayQuery sums the user's blobs stored in the last 24 hours. Their
// forms with $n parameters are for pgx.
const (
	openUploadsQuery   = "SELECT id, user_id, device_id, sha256, size FROM uploads WHERE user_id = ? OR device_id = ? OR id = ? ORDER BY id"
	openUploadsQueryPg = "SELECT id, user_id, device_id, sha256, size FROM uploads WHERE user_id = $1 OR device_id = $2 OR id = $3 ORDER BY id"
	storedTodayQuery   = "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE uploaded_by = ? AND created_at > ?"
	storedTodayQueryPg = "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE uploaded_by = $1 AND created_at > $2"
)

// pgUniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const pgUniqueViolation = "23505"

// creation is what a creation decided, from the uploads it is weighed
// against: the device's uploads of the same file it supersedes, or why it
// is refused.
type creation struct {
	superseded []string
	refused    *server.Error
	// overDaily: refused for the 24-hour volume, whose Retry-After depends
	// on the oldest blob in the window.
	overDaily bool
}

func quotaError(format string, args ...any) *server.Error {
	e := server.Errorf(server.EQUOTA, format, args...)
	e.RetryAfter = quotaRetry
	return e
}

// weigh decides a creation of u by actor on device against the open uploads
// rows and the bytes the user stored in the last 24 hours.
func weigh(lim server.UploadLimits, actor *server.User, device int64, u *server.OpenUpload, rows []openRow, storedToday int64) creation {
	type open struct {
		N     int
		Bytes int64
	}
	var dev, usr open
	var c creation
	taken := false
	for _, r := range rows {
		if r.DeviceID == device && r.SHA256 == u.SHA256 {
			c.superseded = append(c.superseded, r.ID)
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
	switch {
	// An ID the device named may be taken (by anyone): it names another.
	case taken:
		c.refused = server.Errorf(server.ECONFLICT, "上传编号已被使用，请换一个 (the upload id is in use; name another).")
	case lim.OpenPerDevice > 0 && dev.N+1 > lim.OpenPerDevice:
		c.refused = quotaError("该设备未完成的上传已达%d个，请先完成已开始的上传 (this device has %d unfinished uploads, the most allowed; finish those first).", lim.OpenPerDevice, lim.OpenPerDevice)
	case lim.OpenBytesPerDevice > 0 && dev.Bytes+u.Size > lim.OpenBytesPerDevice:
		c.refused = quotaError("该设备未完成的上传合计超过%d字节，请先完成已开始的上传 (this device's unfinished uploads would exceed %d bytes; finish those first).", lim.OpenBytesPerDevice, lim.OpenBytesPerDevice)
	case lim.OpenPerUser > 0 && usr.N+1 > lim.OpenPerUser:
		c.refused = quotaError("您的设备未完成的上传已达%d个，请先完成已开始的上传 (your devices have %d unfinished uploads, the most allowed; finish those first).", lim.OpenPerUser, lim.OpenPerUser)
	case lim.OpenBytesPerUser > 0 && usr.Bytes+u.Size > lim.OpenBytesPerUser:
		c.refused = quotaError("您的设备未完成的上传合计超过%d字节，请先完成已开始的上传 (your devices' unfinished uploads would exceed %d bytes; finish those first).", lim.OpenBytesPerUser, lim.OpenBytesPerUser)
	case lim.DailyBytesPerUser > 0 && storedToday+usr.Bytes+u.Size > lim.DailyBytesPerUser:
		c.refused = quotaError("您24小时内上传的附件已超过%d字节，请稍后再传 (you stored more than %d bytes of attachments in 24 hours; upload again later).", lim.DailyBytesPerUser, lim.DailyBytesPerUser)
		c.overDaily = true
	}
	return c
}

// dailyRetry sets e's Retry-After to when the oldest of the user's blobs in
// the 24-hour window leaves it.
func dailyRetry(g *gorm.DB, e *server.Error, user int64, now time.Time) error {
	var oldest []blobRow
	if err := g.Where("uploaded_by = ? AND created_at > ?", user, now.Add(-24*time.Hour)).Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return err
	}
	if len(oldest) > 0 {
		e.RetryAfter = max(oldest[0].CreatedAt.Add(24*time.Hour).Sub(now), quotaRetry)
	}
	return nil
}

// deviceActor is the device-bound inspector in ctx, whose uploads are
// weighed against the quotas.
func deviceActor(ctx context.Context) (*server.User, error) {
	if err := requireRole(ctx, server.RoleInspector); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	if actor.DeviceID == nil {
		return nil, server.Errorf(server.EFORBIDDEN, "同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
	}
	return actor, nil
}

// weighOn reads on g what a creation of u by actor is weighed against and
// weighs it (see weigh); a refusal for the 24-hour volume gets its
// Retry-After.
func weighOn(g *gorm.DB, lim server.UploadLimits, actor *server.User, u *server.OpenUpload, now time.Time) (creation, error) {
	device := *actor.DeviceID
	var rows []openRow
	if err := g.Raw(openUploadsQuery, actor.ID, device, u.ID).Scan(&rows).Error; err != nil {
		return creation{}, err
	}
	var stored int64
	if lim.DailyBytesPerUser > 0 {
		if err := g.Raw(storedTodayQuery, actor.ID, now.Add(-24*time.Hour)).Scan(&stored).Error; err != nil {
			return creation{}, err
		}
	}
	c := weigh(lim, actor, device, u, rows, stored)
	if c.refused != nil && c.overDaily {
		if err := dailyRetry(g, c.refused, actor.ID, now); err != nil {
			return creation{}, err
		}
	}
	return c, nil
}

// OpenUpload implements server.UploadService.
func (s *UploadService) OpenUpload(ctx context.Context, u *server.OpenUpload) ([]string, error) {
	actor, err := deviceActor(ctx)
	if err != nil {
		return nil, err
	}
	if s.db.dialect == Postgres {
		return s.openUploadPg(ctx, actor, u)
	}
	var superseded []string
	// SQLite runs one write transaction at a time, so the sums stay true.
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := weighOn(tx.DB, s.Limits, actor, u, tx.Now)
		if err != nil {
			return err
		}
		if c.refused != nil {
			return c.refused
		}
		if len(c.superseded) > 0 {
			if err := tx.Exec("DELETE FROM uploads WHERE id IN ?", c.superseded).Error; err != nil {
				return err
			}
		}
		superseded = c.superseded
		return tx.Exec("INSERT INTO uploads (id, user_id, device_id, sha256, size, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			u.ID, actor.ID, *actor.DeviceID, u.SHA256, u.Size, tx.Now).Error
	})
	if err != nil {
		return nil, err
	}
	return superseded, nil
}

// openUploadPg is OpenUpload on PostgreSQL in two round trips, so that the
// user's lock, which queues the user's creations, is held briefly: the
// transaction's start, the lock and the reads go in one pipeline, the
// writes and the commit in another.
func (s *UploadService) openUploadPg(ctx context.Context, actor *server.User, u *server.OpenUpload) ([]string, error) {
	device, lim := *actor.DeviceID, s.Limits
	now := s.db.Now().UTC()
	conn, err := s.db.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var c creation
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres driver connection is %T, not pgx", dc)
		}
		pg := sc.Conn()
		var err error
		c, err = openUploadPipelined(ctx, pg, lim, actor, device, u, now)
		if err != nil || c.refused != nil {
			// The transaction may be open or aborted: end it. A connection
			// that cannot is not given back to the pool.
			if _, rerr := pg.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.refused != nil {
		if c.overDaily {
			if err := dailyRetry(s.db.gorm.WithContext(ctx), c.refused, actor.ID, now); err != nil {
				return nil, err
			}
		}
		return nil, c.refused
	}
	return c.superseded, nil
}

// openUploadPipelined runs OpenUpload's transaction on pg. It leaves the
// transaction committed when it returns neither an error nor a refusal.
func openUploadPipelined(ctx context.Context, pg *pgx.Conn, lim server.UploadLimits, actor *server.User, device int64,
	u *server.OpenUpload, now time.Time) (creation, error) {
	// One creation at a time per user, so the sums stay true. NO KEY UPDATE:
	// it still queues creations, but not the foreign-key checks of the
	// user's blobs being stored meanwhile (FOR KEY SHARE). Each statement
	// after the lock reads what the previous holder committed (READ
	// COMMITTED takes a snapshot per statement).
	//
	// The record does not wait for its WAL flush (synchronous_commit off):
	// it only counts the upload against the quotas. The blob's record, a
	// synchronous commit later in the WAL, flushes it with itself; if a
	// crash comes first and loses it, the upload still resumes and finishes
	// from its files (its owner is in its info file) and is only missing
	// from the quotas until then, or until the pruner removes it.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit = off")
	b.Queue("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE", actor.ID)
	var rows []openRow
	b.Queue(openUploadsQueryPg, actor.ID, device, u.ID).Query(func(r pgx.Rows) error {
		var err error
		rows, err = pgx.CollectRows(r, pgx.RowToStructByPos[openRow])
		return err
	})
	var stored int64
	if lim.DailyBytesPerUser > 0 {
		b.Queue(storedTodayQueryPg, actor.ID, now.Add(-24*time.Hour)).QueryRow(func(r pgx.Row) error { return r.Scan(&stored) })
	}
	if err := pg.SendBatch(ctx, b).Close(); err != nil {
		return creation{}, err
	}
	c := weigh(lim, actor, device, u, rows, stored)
	if c.refused != nil {
		return c, nil
	}
	b = &pgx.Batch{}
	if len(c.superseded) > 0 {
		b.Queue("DELETE FROM uploads WHERE id = ANY($1)", c.superseded)
	}
	b.Queue("INSERT INTO uploads (id, user_id, device_id, sha256, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		u.ID, actor.ID, device, u.SHA256, u.Size, now)
	b.Queue("COMMIT")
	err := pg.SendBatch(ctx, b).Close()
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		// Another user's creation named the same ID between the check
		// above and this insert (the lock is per user).
		return creation{refused: server.Errorf(server.ECONFLICT, "上传编号已被使用，请换一个 (the upload id is in use; name another).")}, nil
	}
	return c, err
}

// CheckBatch implements server.UploadService: the reads of a creation's
// check, without its lock or its record. Batches running side by side may
// each pass where together they would not; the server bounds how many a
// device runs at once.
func (s *UploadService) CheckBatch(ctx context.Context, size int64) error {
	actor, err := deviceActor(ctx)
	if err != nil {
		return err
	}
	c, err := weighOn(s.db.gorm.WithContext(ctx), s.Limits, actor, &server.OpenUpload{Size: size}, s.db.Now().UTC())
	if err != nil {
		return err
	}
	if c.refused != nil {
		return c.refused
	}
	return nil
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
