package server

import (
	"context"
	"regexp"
	"time"
)

// Department is a government department that takes part in joint checks,
// such as a city culture bureau or market-regulation bureau.
type Department struct {
	ID        int64
	Code      string // short stable code, also the inspector stratum in draws
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

var departmentCodePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate returns EINVALID if d breaks a rule that holds for every department.
func (d *Department) Validate() error {
	switch {
	case !departmentCodePattern.MatchString(d.Code):
		return Errorf(EINVALID, "部门代码须为1-32位小写字母、数字、-或_ (department code must be 1-32 of a-z, 0-9, - or _).")
	case d.Name == "":
		return Errorf(EINVALID, "部门名称不能为空 (department name required).")
	}
	// The name heads every row of the grouping report (CSV).
	return CheckName("部门名称 (department name)", d.Name, 100)
}

// DepartmentService manages departments. Everyone signed in may list them;
// only platform admins create or rename them.
type DepartmentService interface {
	FindDepartmentByID(ctx context.Context, id int64) (*Department, error)
	FindDepartmentByCode(ctx context.Context, code string) (*Department, error)
	FindDepartments(ctx context.Context) ([]*Department, error)
	CreateDepartment(ctx context.Context, d *Department) error
	UpdateDepartment(ctx context.Context, id int64, upd DepartmentUpdate) (*Department, error)
}

// DepartmentUpdate holds the fields an update may change.
type DepartmentUpdate struct {
	Name *string
}
