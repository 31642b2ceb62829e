package store

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
)

// InspectorService implements server.InspectorService.
type InspectorService struct{ db *DB }

var _ server.InspectorService = (*InspectorService)(nil)

// NewInspectorService returns the inspector service on db.
func NewInspectorService(db *DB) *InspectorService { return &InspectorService{db: db} }

// canSeeInspector reports whether actor may read r: platform admins every
// inspector, department admins and lead coordinators their own department's,
// an inspector only their own record.
func canSeeInspector(actor *server.User, r *inspectorRow) bool {
	switch actor.Role {
	case server.RolePlatformAdmin:
		return true
	case server.RoleDepartmentAdmin, server.RoleLeadCoordinator:
		return actor.InDepartment(r.DepartmentID)
	case server.RoleInspector:
		return actor.InspectorID != nil && *actor.InspectorID == r.ID
	}
	return false
}

// canSeeInspectorPhone reports whether actor may read r's phone number: the
// people who keep the roster and the inspector themself. Coordinators read the
// roster for planning and get names without phones.
func canSeeInspectorPhone(actor *server.User, r *inspectorRow) bool {
	switch actor.Role {
	case server.RolePlatformAdmin:
		return true
	case server.RoleDepartmentAdmin:
		return actor.InDepartment(r.DepartmentID)
	case server.RoleInspector:
		return actor.InspectorID != nil && *actor.InspectorID == r.ID
	}
	return false
}

// inspectorFor converts r for actor, leaving out what actor may not read.
func inspectorFor(actor *server.User, r *inspectorRow) (*server.Inspector, error) {
	in, err := r.domain()
	if err != nil {
		return nil, err
	}
	if !canSeeInspectorPhone(actor, r) {
		in.Phone = ""
	}
	return in, nil
}

// scopeInspectors restricts q, a query that has the inspectors table, to the
// inspectors actor may see.
func scopeInspectors(q *gorm.DB, actor *server.User) *gorm.DB {
	switch actor.Role {
	case server.RolePlatformAdmin:
		return q
	case server.RoleDepartmentAdmin, server.RoleLeadCoordinator:
		if actor.DepartmentID != nil {
			return q.Where("inspectors.department_id = ?", *actor.DepartmentID)
		}
	case server.RoleInspector:
		if actor.InspectorID != nil {
			return q.Where("inspectors.id = ?", *actor.InspectorID)
		}
	}
	return q.Where("1 = 0")
}

// findVisibleInspector returns ENOTFOUND if the inspector does not exist or
// actor may not see it.
func findVisibleInspector(tx *Tx, actor *server.User, id int64) (*inspectorRow, error) {
	var r inspectorRow
	if err := tx.First(&r, id).Error; err != nil {
		return nil, translate(err, objInspector)
	}
	if !canSeeInspector(actor, &r) {
		return nil, notFound(objInspector)
	}
	return &r, nil
}

// FindInspectorByID returns ENOTFOUND if the inspector does not exist or the
// caller may not see it.
func (s *InspectorService) FindInspectorByID(ctx context.Context, id int64) (*server.Inspector, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.Inspector
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleInspector(tx, actor, id)
		if err != nil {
			return err
		}
		out, err = inspectorFor(actor, r)
		return err
	})
	return out, err
}

// FindInspectors lists the inspectors the caller may see that match f,
// ordered by id, and the total number that match.
func (s *InspectorService) FindInspectors(ctx context.Context, f server.InspectorFilter) ([]*server.Inspector, int, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, 0, requireUser(ctx)
	}
	var (
		out []*server.Inspector
		n   int64
	)
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := scopeInspectors(tx.Model(&inspectorRow{}), actor)
		if f.DepartmentID != nil {
			q = q.Where("department_id = ?", *f.DepartmentID)
		}
		if f.CertificateNumber != nil {
			q = q.Where("certificate_number = ?", *f.CertificateNumber)
		}
		if f.Status != nil {
			q = q.Where("status = ?", string(*f.Status))
		}
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		offset, limit := page(f.Offset, f.Limit)
		var rows []inspectorRow
		if err := q.Order("id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.Inspector, len(rows))
		for i := range rows {
			in, err := inspectorFor(actor, &rows[i])
			if err != nil {
				return err
			}
			out[i] = in
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, int(n), nil
}

// CreateInspector adds in to the roster. Platform admins add to any
// department, department admins to their own. Returns ECONFLICT if the
// certificate number is taken.
func (s *InspectorService) CreateInspector(ctx context.Context, in *server.Inspector) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	// EFORBIDDEN rather than ENOTFOUND: department ids are no secret (every
	// signed-in user lists departments), and it matches CreateUser.
	if actor.Role == server.RoleDepartmentAdmin && !actor.InDepartment(in.DepartmentID) {
		return server.Errorf(server.EFORBIDDEN, "只能为本部门添加执法人员 (you may add inspectors only to your own department).")
	}
	if err := in.Validate(); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		r := inspectorRowOf(in)
		r.ID, r.CreatedAt, r.UpdatedAt = 0, tx.Now, tx.Now
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objInspector)
		}
		out, err := r.domain()
		if err != nil {
			return err
		}
		addAudit(tx, "inspector.create", "inspector", r.ID, auditData{"department_id": r.DepartmentID})
		*in = *out
		return nil
	})
}

// UpdateInspector changes the fields set in upd. Platform admins change any
// inspector, department admins their own department's; the department itself
// never changes here.
func (s *InspectorService) UpdateInspector(ctx context.Context, id int64, upd server.InspectorUpdate) (*server.Inspector, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Inspector
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleInspector(tx, actor, id)
		if err != nil {
			return err
		}
		in, err := r.domain()
		if err != nil {
			return err
		}
		applyInspectorUpdate(in, upd)
		if err := in.Validate(); err != nil {
			return err
		}
		row := inspectorRowOf(in)
		row.UpdatedAt = tx.Now
		if err := saveDirectoryRow(tx, &row); err != nil {
			return translate(err, objInspector)
		}
		addAudit(tx, "inspector.update", "inspector", id, auditData{"fields": changedFields(upd)})
		out, err = inspectorFor(actor, &row)
		return err
	})
	return out, err
}

func applyInspectorUpdate(in *server.Inspector, upd server.InspectorUpdate) {
	if upd.Name != nil {
		in.Name = *upd.Name
	}
	if upd.CertificateValidFrom != nil {
		in.CertificateValidFrom = *upd.CertificateValidFrom
	}
	if upd.CertificateValidUntil != nil {
		in.CertificateValidUntil = *upd.CertificateValidUntil
	}
	if upd.Domains != nil {
		in.Domains = slices.Clone(*upd.Domains)
	}
	if upd.Phone != nil {
		in.Phone = *upd.Phone
	}
	if upd.Status != nil {
		in.Status = *upd.Status
	}
}
