package store

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/username"
)

// userRow mirrors the users table. Username is stored normalized
// (server/username), with the skeleton of its look-alikes.
type userRow struct {
	ID                     int64
	Username               string
	UsernameSkeleton       *string
	DisplayName            string
	PasswordHash           string
	PasswordChangeRequired bool
	PasswordChangedAt      *time.Time
	Role                   string
	DepartmentID           *int64
	InspectorID            *int64
	DisabledAt             *time.Time
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) domain() *server.User {
	return &server.User{
		ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, Role: server.Role(r.Role),
		DepartmentID: r.DepartmentID, InspectorID: r.InspectorID, Disabled: r.DisabledAt != nil,
		PasswordChangeRequired: r.PasswordChangeRequired, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// UserService implements server.UserService.
type UserService struct {
	db        *DB
	passwords server.PasswordHasher
	// Throttle, when set, holds back guesses of the current password on
	// the change-password route as it does logins.
	Throttle *LoginThrottle
}

var _ server.UserService = (*UserService)(nil)

// NewUserService returns the user service on db.
func NewUserService(db *DB, passwords server.PasswordHasher) *UserService {
	return &UserService{db: db, passwords: passwords}
}

// canManageUser reports whether actor may see and change u: platform admins
// everyone, department admins their own department's users, anyone themself.
func canManageUser(actor *server.User, u *userRow) bool {
	switch {
	case actor.ID == u.ID:
		return true
	case actor.Role == server.RolePlatformAdmin:
		return true
	case actor.Role == server.RoleDepartmentAdmin:
		return u.DepartmentID != nil && actor.InDepartment(*u.DepartmentID) && u.Role != string(server.RolePlatformAdmin)
	}
	return false
}

// FindUserByID returns ENOTFOUND if the user does not exist or the caller may not see them.
func (s *UserService) FindUserByID(ctx context.Context, id int64) (*server.User, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var r userRow
	if err := s.db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, translate(err, objUser)
	}
	if !canManageUser(actor, &r) {
		return nil, notFound(objUser)
	}
	return r.domain(), nil
}

// FindUsers lists the users the caller may see.
func (s *UserService) FindUsers(ctx context.Context, f server.UserFilter) ([]*server.User, int, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, 0, err
	}
	actor := server.UserFromContext(ctx)
	q := s.db.gorm.WithContext(ctx).Model(&userRow{})
	if actor.Role == server.RoleDepartmentAdmin {
		q = q.Where("department_id = ?", *actor.DepartmentID)
	}
	if f.DepartmentID != nil {
		q = q.Where("department_id = ?", *f.DepartmentID)
	}
	if f.Role != nil {
		q = q.Where("role = ?", string(*f.Role))
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return nil, 0, err
	}
	offset, limit := page(f.Offset, f.Limit)
	var rows []userRow
	if err := q.Order("id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	out := make([]*server.User, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, int(n), nil
}

// CreateUser creates u. Platform admins create any user; department admins
// create any but platform admins, in their own department only.
func (s *UserService) CreateUser(ctx context.Context, u *server.User, password string) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	scoped := actor.Role == server.RoleDepartmentAdmin
	if scoped {
		if u.Role == server.RolePlatformAdmin || u.DepartmentID == nil || !actor.InDepartment(*u.DepartmentID) {
			return server.Errorf(server.EFORBIDDEN, "只能为本部门创建账号 (you may create accounts only in your own department).")
		}
	}
	return s.createUser(ctx, u, password, scoped, false)
}

// CreateUserUnchecked creates u without an acting user: for the first start
// and the `spotcheck user add` command, which run with the operator's
// authority. With oneTime the password must be changed at the first login.
func (s *UserService) CreateUserUnchecked(ctx context.Context, u *server.User, password string, oneTime bool) error {
	return s.createUser(ctx, u, password, false, oneTime)
}

// createUser creates u. scoped is set for a department admin, who must not
// learn that another department's inspector exists.
func (s *UserService) createUser(ctx context.Context, u *server.User, password string, scoped, oneTime bool) error {
	name, err := username.Normalize(u.Username)
	if err != nil {
		return err
	}
	u.Username = name
	if err := u.Validate(); err != nil {
		return err
	}
	if len(u.DisplayName) > 100 {
		return server.Errorf(server.EINVALID, "显示名称过长 (display name too long).")
	}
	skeleton := username.Skeleton(name)
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if u.InspectorID != nil {
			// An inspector account belongs to the inspector's own department.
			var in inspectorDepartment
			if err := tx.Table("inspectors").Select("department_id").Where("id = ?", *u.InspectorID).Take(&in).Error; err != nil {
				return translate(err, objInspector)
			}
			if u.DepartmentID == nil || *u.DepartmentID != in.DepartmentID {
				if scoped {
					return notFound(objInspector)
				}
				return server.Errorf(server.EINVALID, "账号部门须与执法人员所属部门一致 (the account's department must be the inspector's).")
			}
		}
		var taken userRow
		err := tx.Select("id, username").Where("username = ? OR username_skeleton = ?", name, skeleton).Take(&taken).Error
		switch {
		case err == nil && taken.Username == name:
			return translate(gorm.ErrDuplicatedKey, objUser)
		case err == nil:
			return errConfusableName
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		r := userRow{
			Username: u.Username, UsernameSkeleton: &skeleton, DisplayName: u.DisplayName, PasswordHash: hash,
			PasswordChangeRequired: oneTime, Role: string(u.Role),
			DepartmentID: u.DepartmentID, InspectorID: u.InspectorID, CreatedAt: tx.Now, UpdatedAt: tx.Now,
		}
		if err := tx.Create(&r).Error; err != nil {
			// A concurrent creation of the same or a look-alike name.
			return translate(err, objUser)
		}
		addAudit(tx, "user.create", "user", r.ID, auditData{"username": r.Username, "role": r.Role, "department_id": r.DepartmentID, "inspector_id": r.InspectorID, "one_time_password": oneTime})
		*u = *r.domain()
		return nil
	})
}

type inspectorDepartment struct{ DepartmentID int64 }

// DisableUser stops the user from logging in and revokes their refresh tokens.
func (s *UserService) DisableUser(ctx context.Context, id int64) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	return s.db.WithTx(ctx, func(tx *Tx) error {
		var r userRow
		if err := tx.First(&r, id).Error; err != nil {
			return translate(err, objUser)
		}
		if !canManageUser(actor, &r) {
			return notFound(objUser)
		}
		if r.ID == actor.ID {
			return server.Errorf(server.EINVALID, "不能停用自己的账号 (you cannot disable your own account).")
		}
		// Disabling twice keeps the first time.
		if r.DisabledAt == nil {
			if err := tx.Model(&r).Updates(map[string]any{"disabled_at": tx.Now, "updated_at": tx.Now}).Error; err != nil {
				return err
			}
			addAudit(tx, "user.disable", "user", id, nil)
		}
		return revokeUserSessions(tx, id, "")
	})
}

var errConfusableName = server.Errorf(server.ECONFLICT, "用户名与已有账号的用户名过于相似，请换一个 (the username looks like an existing one; choose another).")

// revokeUserSessions ends every session (refresh-token family) of the user
// but keep (a family id, or ""): their refresh tokens stop at once and their
// access tokens at the next request.
func revokeUserSessions(tx *Tx, userID int64, keep string) error {
	q := tx.Model(&refreshTokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID)
	if keep != "" {
		q = q.Where("family_id <> ?", keep)
	}
	return q.Update("revoked_at", tx.Now).Error
}

// ChangePassword changes the calling user's password; see server.UserService.
func (s *UserService) ChangePassword(ctx context.Context, current, next string) error {
	actor := server.UserFromContext(ctx)
	if actor == nil || actor.ID == 0 {
		return requireUser(ctx)
	}
	var r userRow
	err := s.db.gorm.WithContext(ctx).First(&r, actor.ID).Error
	if err != nil {
		return translate(err, objUser)
	}
	var attempt *loginAttempt
	if s.Throttle != nil {
		if attempt, err = s.Throttle.begin(ctx, r.Username, ""); err != nil {
			return err
		}
	}
	ok, err := s.passwords.Verify(ctx, r.PasswordHash, current)
	if err != nil {
		return errors.Join(err, attempt.undo(ctx))
	}
	if !ok {
		if err := attempt.failed(ctx); err != nil {
			return err
		}
		return server.Errorf(server.EINVALID, "当前密码错误 (the current password is wrong).")
	}
	if err := attempt.succeeded(ctx); err != nil {
		return err
	}
	if next == current {
		return server.Errorf(server.EINVALID, "新密码不能与当前密码相同 (the new password must differ from the current one).")
	}
	hash, err := s.passwords.Hash(ctx, next)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		// The hash read above must still be the stored one: two changes
		// racing with the same current password cannot both win.
		res := tx.Model(&userRow{}).Where("id = ? AND password_hash = ?", r.ID, r.PasswordHash).Updates(map[string]any{
			"password_hash": hash, "password_change_required": false, "password_changed_at": tx.Now, "updated_at": tx.Now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return server.Errorf(server.ECONFLICT, "密码刚被修改，请重新登录 (the password was just changed; sign in again).")
		}
		addAudit(tx, "user.password_change", "user", r.ID, nil)
		// Whoever else held a session with the old password is signed out.
		return revokeUserSessions(tx, r.ID, actor.SessionID)
	})
}

// ResetPassword gives the user a one-time password; see server.UserService.
func (s *UserService) ResetPassword(ctx context.Context, id int64) (string, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return "", err
	}
	actor := server.UserFromContext(ctx)
	var r userRow
	if err := s.db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return "", translate(err, objUser)
	}
	if !canManageUser(actor, &r) {
		return "", notFound(objUser)
	}
	if r.ID == actor.ID {
		return "", server.Errorf(server.EINVALID, "请用修改密码功能修改自己的密码 (change your own password with the change-password route).")
	}
	return s.resetPassword(ctx, &r)
}

// ResetPasswordByUsername resets the password of the account named (in any
// spelling that normalizes to it) without an acting user: for the
// `spotcheck user reset-password` command, run with the operator's authority.
func (s *UserService) ResetPasswordByUsername(ctx context.Context, name string) (*server.User, string, error) {
	n, err := username.Normalize(name)
	if err != nil {
		return nil, "", err
	}
	var r userRow
	if err := s.db.gorm.WithContext(ctx).Where("username = ?", n).Take(&r).Error; err != nil {
		return nil, "", translate(err, objUser)
	}
	password, err := s.resetPassword(ctx, &r)
	if err != nil {
		return nil, "", err
	}
	return r.domain(), password, nil
}

func (s *UserService) resetPassword(ctx context.Context, r *userRow) (string, error) {
	password := rand.Text()
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	err = s.db.WithTx(ctx, func(tx *Tx) error {
		if err := tx.Model(&userRow{}).Where("id = ?", r.ID).Updates(map[string]any{
			"password_hash": hash, "password_change_required": true, "password_changed_at": tx.Now, "updated_at": tx.Now,
		}).Error; err != nil {
			return err
		}
		addAudit(tx, "user.password_reset", "user", r.ID, nil)
		return revokeUserSessions(tx, r.ID, "")
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// normalizeUsernames brings accounts made before usernames were normalized
// to the stored form, with their skeletons. An account whose normalized name
// or skeleton another account already has is left as it was and logged: it
// can no longer sign in until an operator renames or disables one of them.
func (db *DB) normalizeUsernames(ctx context.Context, log *slog.Logger) error {
	var rows []userRow
	if err := db.gorm.WithContext(ctx).Select("id, username").Where("username_skeleton IS NULL").Order("id").Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		name, err := username.Normalize(r.Username)
		if err != nil {
			log.WarnContext(ctx, "username cannot be normalized; the account cannot sign in", slog.Int64("user_id", r.ID), slog.Any("err", err))
			continue
		}
		skeleton := username.Skeleton(name)
		err = db.WithTx(ctx, func(tx *Tx) error {
			var n int64
			if err := tx.Model(&userRow{}).Where("id <> ? AND (username = ? OR username_skeleton = ?)", r.ID, name, skeleton).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return errConfusableName
			}
			return tx.Model(&userRow{}).Where("id = ?", r.ID).Updates(map[string]any{"username": name, "username_skeleton": skeleton}).Error
		})
		if server.ErrorCode(err) == server.ECONFLICT {
			log.WarnContext(ctx, "username is the same as or looks like another account's once normalized; the account cannot sign in until renamed",
				slog.Int64("user_id", r.ID), slog.String("username", r.Username))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CountUsers returns how many users exist; the first start creates an admin when there are none.
func (s *UserService) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.gorm.WithContext(ctx).Model(&userRow{}).Count(&n).Error
	return n, err
}
