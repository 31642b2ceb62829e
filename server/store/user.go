package store

import (
	"context"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// userRow mirrors the users table.
type userRow struct {
	ID           int64
	Username     string
	DisplayName  string
	PasswordHash string
	Role         string
	DepartmentID *int64
	InspectorID  *int64
	DisabledAt   *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) domain() *server.User {
	return &server.User{
		ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, Role: server.Role(r.Role),
		DepartmentID: r.DepartmentID, InspectorID: r.InspectorID, Disabled: r.DisabledAt != nil,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// UserService implements server.UserService.
type UserService struct {
	db        *DB
	passwords server.PasswordHasher
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
	return s.createUser(ctx, u, password, scoped)
}

// CreateUserUnchecked creates u without an acting user: for the first start
// and the `spotcheck user add` command, which run with the operator's authority.
func (s *UserService) CreateUserUnchecked(ctx context.Context, u *server.User, password string) error {
	return s.createUser(ctx, u, password, false)
}

// createUser creates u. scoped is set for a department admin, who must not
// learn that another department's inspector exists.
func (s *UserService) createUser(ctx context.Context, u *server.User, password string, scoped bool) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if len(u.DisplayName) > 100 {
		return server.Errorf(server.EINVALID, "显示名称过长 (display name too long).")
	}
	hash, err := s.passwords.Hash(password)
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
		r := userRow{
			Username: u.Username, DisplayName: u.DisplayName, PasswordHash: hash, Role: string(u.Role),
			DepartmentID: u.DepartmentID, InspectorID: u.InspectorID, CreatedAt: tx.Now, UpdatedAt: tx.Now,
		}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objUser)
		}
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
		}
		return tx.Model(&refreshTokenRow{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", tx.Now).Error
	})
}

// CountUsers returns how many users exist; the first start creates an admin when there are none.
func (s *UserService) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.gorm.WithContext(ctx).Model(&userRow{}).Count(&n).Error
	return n, err
}
