package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
)

// EnterpriseService implements server.EnterpriseService.
type EnterpriseService struct{ db *DB }

var _ server.EnterpriseService = (*EnterpriseService)(nil)

// NewEnterpriseService returns the enterprise service on db.
func NewEnterpriseService(db *DB) *EnterpriseService { return &EnterpriseService{db: db} }

// enterpriseReaders may read the directory. Inspectors are left out: they see
// enterprises only through the packets they are assigned.
var enterpriseReaders = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator}

// FindEnterpriseByID returns ENOTFOUND if the enterprise does not exist and
// EFORBIDDEN for a role that may not read the directory.
func (s *EnterpriseService) FindEnterpriseByID(ctx context.Context, id int64) (*server.Enterprise, error) {
	if err := requireRole(ctx, enterpriseReaders...); err != nil {
		return nil, err
	}
	var out *server.Enterprise
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r enterpriseRow
		if err := tx.First(&r, id).Error; err != nil {
			return translate(err, objEnterprise)
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// FindEnterprises lists enterprises matching f, ordered by id, and the total
// number that match.
func (s *EnterpriseService) FindEnterprises(ctx context.Context, f server.EnterpriseFilter) ([]*server.Enterprise, int, error) {
	if err := requireRole(ctx, enterpriseReaders...); err != nil {
		return nil, 0, err
	}
	var (
		out []*server.Enterprise
		n   int64
	)
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := tx.Model(&enterpriseRow{})
		if f.CreditCode != nil {
			q = q.Where("credit_code = ?", *f.CreditCode)
		}
		if f.Category != nil {
			q = q.Where("category = ?", *f.Category)
		}
		if f.District != nil {
			q = q.Where("district = ?", *f.District)
		}
		if f.Status != nil {
			q = q.Where("status = ?", string(*f.Status))
		}
		if f.Query != nil && *f.Query != "" {
			// SQLite's LIKE ignores ASCII case and PostgreSQL's does not;
			// ILIKE makes the two agree (Chinese names have no case).
			op := "LIKE"
			if s.db.dialect == Postgres {
				op = "ILIKE"
			}
			q = q.Where("name "+op+` ? ESCAPE '\'`, containsPattern(*f.Query))
		}
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		offset, limit := page(f.Offset, f.Limit)
		var rows []enterpriseRow
		if err := q.Order("id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.Enterprise, len(rows))
		for i := range rows {
			out[i] = rows[i].domain()
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, int(n), nil
}

// containsPattern returns a LIKE pattern (with '\' as the escape character)
// matching any string that contains s literally.
func containsPattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// CreateEnterprise creates e. Only platform admins may. Returns ECONFLICT if
// the credit code is taken.
func (s *EnterpriseService) CreateEnterprise(ctx context.Context, e *server.Enterprise) error {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		r := enterpriseRowOf(e)
		r.ID, r.CreatedAt, r.UpdatedAt = 0, tx.Now, tx.Now
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objEnterprise)
		}
		addAudit(tx, "enterprise.create", "enterprise", r.ID, auditData{"credit_code": r.CreditCode})
		*e = *r.domain()
		return nil
	})
}

// UpdateEnterprise changes the fields set in upd. Only platform admins may.
// The credit code is the enterprise's identity in draws and never changes.
func (s *EnterpriseService) UpdateEnterprise(ctx context.Context, id int64, upd server.EnterpriseUpdate) (*server.Enterprise, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return nil, err
	}
	var out *server.Enterprise
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r enterpriseRow
		if err := tx.First(&r, id).Error; err != nil {
			return translate(err, objEnterprise)
		}
		e := r.domain()
		applyEnterpriseUpdate(e, upd)
		if err := e.Validate(); err != nil {
			return err
		}
		r = enterpriseRowOf(e)
		r.UpdatedAt = tx.Now
		if err := saveDirectoryRow(tx, &r); err != nil {
			return translate(err, objEnterprise)
		}
		addAudit(tx, "enterprise.update", "enterprise", id, auditData{"fields": changedFields(upd)})
		out = r.domain()
		return nil
	})
	return out, err
}

func applyEnterpriseUpdate(e *server.Enterprise, upd server.EnterpriseUpdate) {
	if upd.Name != nil {
		e.Name = *upd.Name
	}
	if upd.Category != nil {
		e.Category = *upd.Category
	}
	if upd.District != nil {
		e.District = *upd.District
	}
	if upd.Address != nil {
		e.Address = *upd.Address
	}
	if upd.LegalRepresentative != nil {
		e.LegalRepresentative = *upd.LegalRepresentative
	}
	if upd.LicenceNumber != nil {
		e.LicenceNumber = *upd.LicenceNumber
	}
	if upd.Status != nil {
		e.Status = *upd.Status
	}
	if upd.RiskClass != nil {
		e.RiskClass = *upd.RiskClass
	}
	if upd.Latitude != nil {
		v := *upd.Latitude
		e.Latitude = &v
	}
	if upd.Longitude != nil {
		v := *upd.Longitude
		e.Longitude = &v
	}
}

// saveDirectoryRow writes every column of r, a row that exists. Hooks are
// skipped because GORM would stamp updated_at from its own clock instead of
// the transaction's tx.Now.
func saveDirectoryRow(tx *Tx, r any) error {
	return tx.Session(&gorm.Session{SkipHooks: true}).Save(r).Error
}
