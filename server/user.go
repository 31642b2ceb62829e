package server

import (
	"context"
	"time"
)

// Role is what a user may do. Values are stored and sent as is: append only.
type Role string

const (
	RolePlatformAdmin   Role = "platform_admin"   // runs the platform: every department
	RoleDepartmentAdmin Role = "department_admin" // keeps one department's roster, users and devices
	RoleLeadCoordinator Role = "lead_coordinator" // runs campaigns for the lead department
	RoleInspector       Role = "inspector"        // field work on assigned packets; linked to an inspector record
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RolePlatformAdmin, RoleDepartmentAdmin, RoleLeadCoordinator, RoleInspector:
		return true
	}
	return false
}

// User is an account that can log in.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         Role
	DepartmentID *int64 // nil only for platform admins
	InspectorID  *int64 // set only for inspectors
	Disabled     bool
	// PasswordChangeRequired is set while the password is a one-time one
	// (generated at creation or reset by an admin).
	PasswordChangeRequired bool
	CreatedAt              time.Time
	UpdatedAt              time.Time

	// DeviceID is the device the current request's token is bound to, if any.
	// It is set from the token, never stored on the user.
	DeviceID *int64
	// SessionID is the login the current request's token belongs to; set from
	// the token, never stored on the user.
	SessionID string
}

// Validate returns EINVALID if u breaks a rule that holds for every user.
func (u *User) Validate() error {
	switch {
	case u.Username == "":
		return Errorf(EINVALID, "用户名不能为空 (username required).")
	case len(u.Username) > 64:
		return Errorf(EINVALID, "用户名过长 (username too long).")
	case !u.Role.Valid():
		return Errorf(EINVALID, "未知角色 (unknown role).")
	case u.Role != RolePlatformAdmin && u.DepartmentID == nil:
		return Errorf(EINVALID, "该角色必须属于一个部门 (this role needs a department).")
	case u.Role == RoleInspector && u.InspectorID == nil:
		return Errorf(EINVALID, "执法人员账号必须关联执法人员 (an inspector account needs an inspector record).")
	case u.Role != RoleInspector && u.InspectorID != nil:
		return Errorf(EINVALID, "只有执法人员账号可以关联执法人员 (only inspector accounts link an inspector).")
	}
	return nil
}

// InDepartment reports whether u belongs to department id.
func (u *User) InDepartment(id int64) bool {
	return u.DepartmentID != nil && *u.DepartmentID == id
}

// UserFilter selects users. Nil fields match everything.
type UserFilter struct {
	DepartmentID *int64
	Role         *Role
	Offset       int
	Limit        int
}

// UserService manages accounts. Implementations scope every call to the user in ctx.
type UserService interface {
	// FindUserByID returns ENOTFOUND if the user does not exist or is not visible to the caller.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	FindUsers(ctx context.Context, filter UserFilter) ([]*User, int, error)
	// CreateUser creates u with the given password. Returns ECONFLICT if the username is taken.
	CreateUser(ctx context.Context, u *User, password string) error
	// DisableUser stops a user from logging in and revokes their refresh tokens.
	DisableUser(ctx context.Context, id int64) error
	// ChangePassword changes the calling user's own password, given the
	// current one (EINVALID when it is wrong: the caller is signed in, so not
	// EUNAUTHORIZED, which clients take for an expired token). It ends the user's other
	// sessions and clears PasswordChangeRequired.
	ChangePassword(ctx context.Context, current, next string) error
	// ResetPassword gives user id a generated one-time password, returned
	// once, that must be changed at the next login, and ends all their
	// sessions. Platform admins reset anyone, department admins their
	// department's users; nobody resets their own.
	ResetPassword(ctx context.Context, id int64) (password string, err error)
}
