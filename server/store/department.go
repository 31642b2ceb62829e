package store

import (
	"context"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// departmentRow mirrors the departments table.
type departmentRow struct {
	ID        int64
	Code      string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (departmentRow) TableName() string { return "departments" }

func (r *departmentRow) domain() *server.Department {
	return &server.Department{ID: r.ID, Code: r.Code, Name: r.Name, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// DepartmentService implements server.DepartmentService.
type DepartmentService struct{ db *DB }

var _ server.DepartmentService = (*DepartmentService)(nil)

// NewDepartmentService returns the department service on db.
func NewDepartmentService(db *DB) *DepartmentService { return &DepartmentService{db: db} }

// FindDepartmentByID returns ENOTFOUND if the department does not exist.
func (s *DepartmentService) FindDepartmentByID(ctx context.Context, id int64) (*server.Department, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	var r departmentRow
	if err := s.db.gorm.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, translate(err, objDepartment)
	}
	return r.domain(), nil
}

// FindDepartmentByCode returns ENOTFOUND if no department has the code.
func (s *DepartmentService) FindDepartmentByCode(ctx context.Context, code string) (*server.Department, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	var r departmentRow
	if err := s.db.gorm.WithContext(ctx).Where("code = ?", code).First(&r).Error; err != nil {
		return nil, translate(err, objDepartment)
	}
	return r.domain(), nil
}

// FindDepartments returns every department, ordered by code.
func (s *DepartmentService) FindDepartments(ctx context.Context) ([]*server.Department, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	var rows []departmentRow
	if err := s.db.gorm.WithContext(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*server.Department, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// CreateDepartment creates d. Only platform admins may. Returns ECONFLICT if the code is taken.
func (s *DepartmentService) CreateDepartment(ctx context.Context, d *server.Department) error {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		r := departmentRow{Code: d.Code, Name: d.Name, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objDepartment)
		}
		addAudit(tx, "department.create", "department", r.ID, auditData{"code": r.Code, "name": r.Name})
		*d = *r.domain()
		return nil
	})
}

// UpdateDepartment renames a department. Only platform admins may.
func (s *DepartmentService) UpdateDepartment(ctx context.Context, id int64, upd server.DepartmentUpdate) (*server.Department, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return nil, err
	}
	var out *server.Department
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r departmentRow
		if err := tx.First(&r, id).Error; err != nil {
			return translate(err, objDepartment)
		}
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		d := r.domain()
		if err := d.Validate(); err != nil {
			return err
		}
		r.UpdatedAt = tx.Now
		if err := tx.Save(&r).Error; err != nil {
			return translate(err, objDepartment)
		}
		addAudit(tx, "department.update", "department", id, auditData{"fields": changedFields(upd)})
		out = r.domain()
		return nil
	})
	return out, err
}
