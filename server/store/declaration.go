package store

import (
	"context"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
)

// DeclarationService implements server.DeclarationService.
type DeclarationService struct{ db *DB }

var _ server.DeclarationService = (*DeclarationService)(nil)

// NewDeclarationService returns the declaration service on db.
func NewDeclarationService(db *DB) *DeclarationService { return &DeclarationService{db: db} }

// declarationWriters may declare and withdraw; lead coordinators only read.
var declarationWriters = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleInspector}

// maxDeclarationReason bounds a declaration's reason, in bytes.
const maxDeclarationReason = 500

// joinDeclarationInspectors joins each declaration's inspector, so that
// scopeInspectors applies: a declaration is visible to whoever may see its
// inspector (platform admins all, department admins and lead coordinators
// their department's, an inspector their own).
func joinDeclarationInspectors(q *gorm.DB) *gorm.DB {
	return q.Joins("JOIN inspectors ON inspectors.id = conflict_declarations.inspector_id")
}

// findVisibleDeclaration returns ENOTFOUND if the declaration does not exist
// or actor may not see it.
func findVisibleDeclaration(tx *Tx, actor *server.User, id int64) (*declarationRow, error) {
	var r declarationRow
	err := scopeInspectors(joinDeclarationInspectors(tx.Model(&declarationRow{})), actor).
		Select("conflict_declarations.*").Where("conflict_declarations.id = ?", id).Take(&r).Error
	if err != nil {
		return nil, translate(err, objDeclaration)
	}
	return &r, nil
}

// FindDeclarationByID returns ENOTFOUND if the declaration does not exist or
// the caller may not see it.
func (s *DeclarationService) FindDeclarationByID(ctx context.Context, id int64) (*server.Declaration, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.Declaration
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleDeclaration(tx, actor, id)
		if err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// FindDeclarations lists the declarations the caller may see that match f,
// ordered by id, and the total number that match. Withdrawn declarations are
// left out unless f.IncludeRetired.
func (s *DeclarationService) FindDeclarations(ctx context.Context, f server.DeclarationFilter) ([]*server.Declaration, int, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, 0, requireUser(ctx)
	}
	var (
		out []*server.Declaration
		n   int64
	)
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := scopeInspectors(joinDeclarationInspectors(tx.Model(&declarationRow{})), actor)
		if f.InspectorID != nil {
			q = q.Where("conflict_declarations.inspector_id = ?", *f.InspectorID)
		}
		if f.EnterpriseID != nil {
			q = q.Where("conflict_declarations.enterprise_id = ?", *f.EnterpriseID)
		}
		if f.DepartmentID != nil {
			q = q.Where("inspectors.department_id = ?", *f.DepartmentID)
		}
		if f.Status != nil {
			q = q.Where("conflict_declarations.status = ?", string(*f.Status))
		}
		if !f.IncludeRetired {
			q = q.Where("conflict_declarations.withdrawn_at IS NULL AND conflict_declarations.status <> ?", string(server.DeclarationRejected))
		}
		if err := q.Count(&n).Error; err != nil {
			return err
		}
		offset, limit := page(f.Offset, f.Limit)
		var rows []declarationRow
		if err := q.Select("conflict_declarations.*").Order("conflict_declarations.id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.Declaration, len(rows))
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

// CreateDeclaration records d, declared by the caller. Department admins
// declare for their department's inspectors, platform admins for any, an
// inspector for themself; an inspector the caller may not see is ENOTFOUND.
// An admin's declaration is approved at once; an inspector's waits for an
// admin of their department, and an inspector has at most
// server.MaxPendingDeclarations waiting (ECONFLICT beyond). Returns
// ECONFLICT if a standing declaration for the pair exists.
func (s *DeclarationService) CreateDeclaration(ctx context.Context, d *server.Declaration) error {
	if err := requireRole(ctx, declarationWriters...); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	switch {
	case d.InspectorID <= 0:
		return server.Errorf(server.EINVALID, "须指定执法人员 (inspector required).")
	case d.EnterpriseID <= 0:
		return server.Errorf(server.EINVALID, "须指定企业 (enterprise required).")
	case strings.TrimSpace(d.Reason) == "" || len(d.Reason) > maxDeclarationReason:
		return server.Errorf(server.EINVALID, "回避事由须为1-%d字节 (reason must be 1-%d bytes).", maxDeclarationReason, maxDeclarationReason)
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := findVisibleInspector(tx, actor, d.InspectorID); err != nil {
			return err
		}
		var e enterpriseRow
		if err := tx.Select("id").First(&e, d.EnterpriseID).Error; err != nil {
			return translate(err, objEnterprise)
		}
		r := declarationRow{
			InspectorID: d.InspectorID, EnterpriseID: d.EnterpriseID, Reason: d.Reason,
			DeclaredBy: actor.ID, CreatedAt: tx.Now, Status: string(server.DeclarationApproved),
		}
		if actor.Role == server.RoleInspector {
			r.Status = string(server.DeclarationPending)
			if err := lockInspector(tx, d.InspectorID); err != nil {
				return err
			}
			var n int64
			if err := tx.Model(&declarationRow{}).Where("inspector_id = ? AND status = ? AND withdrawn_at IS NULL",
				d.InspectorID, string(server.DeclarationPending)).Count(&n).Error; err != nil {
				return err
			}
			if n >= server.MaxPendingDeclarations {
				return server.Errorf(server.ECONFLICT, "待审批的回避声明已达%d条，请等待部门管理员审批 (%d declarations already await review; wait for your department admin).",
					server.MaxPendingDeclarations, server.MaxPendingDeclarations)
			}
		} else {
			r.ReviewedBy, r.ReviewedAt = &actor.ID, &tx.Now
		}
		if err := tx.Create(&r).Error; err != nil {
			err = translate(err, objDeclaration)
			if server.ErrorCode(err) == server.ECONFLICT {
				return server.Errorf(server.ECONFLICT, "该执法人员对该企业已有有效的回避声明 (the inspector already has a standing declaration for this enterprise).")
			}
			return err
		}
		addAudit(tx, "declaration.create", "declaration", r.ID, auditData{"status": r.Status})
		*d = *r.domain()
		return nil
	})
}

// lockInspector locks the inspector's row until the transaction ends, so two
// declarations racing cannot both pass the pending bound (PostgreSQL; SQLite
// transactions already hold the one writer lock).
func lockInspector(tx *Tx, id int64) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	var got []int64
	return tx.Raw("SELECT id FROM inspectors WHERE id = ? FOR UPDATE", id).Scan(&got).Error
}

// maxReviewNote bounds a review note and a withdrawal reason, in bytes.
const maxReviewNote = 500

// ReviewDeclaration approves or rejects a pending declaration; see server.DeclarationService.
func (s *DeclarationService) ReviewDeclaration(ctx context.Context, id int64, to server.DeclarationStatus, note string) (*server.Declaration, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	if to != server.DeclarationApproved && to != server.DeclarationRejected {
		return nil, server.Errorf(server.EINVALID, "审批结果须为批准或驳回 (a review approves or rejects).")
	}
	actor := server.UserFromContext(ctx)
	var out *server.Declaration
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		// Visibility first: another department's declaration is ENOTFOUND
		// whatever the body says.
		r, err := findVisibleDeclaration(tx, actor, id)
		if err != nil {
			return err
		}
		switch {
		case len(note) > maxReviewNote:
			return server.Errorf(server.EINVALID, "审批意见须在%d字节以内 (the note must be at most %d bytes).", maxReviewNote, maxReviewNote)
		case to == server.DeclarationRejected && strings.TrimSpace(note) == "":
			return server.Errorf(server.EINVALID, "驳回须说明理由 (a rejection needs a reason).")
		}
		d := r.domain()
		if d.WithdrawnAt != nil || !d.Status.CanReview(to) {
			return server.Errorf(server.ECONFLICT, "只能审批待审批的回避声明 (only a pending declaration can be reviewed; this one is %s).", declarationState(d))
		}
		// The condition keeps the first review should two race.
		res := tx.Model(&declarationRow{}).Where("id = ? AND status = ? AND withdrawn_at IS NULL", id, r.Status).
			Updates(map[string]any{"status": string(to), "reviewed_by": actor.ID, "reviewed_at": tx.Now, "review_note": note})
		if res.Error != nil {
			err := translate(res.Error, objDeclaration)
			if server.ErrorCode(err) == server.ECONFLICT {
				return server.Errorf(server.ECONFLICT, "该执法人员对该企业已有有效的回避声明 (the inspector already has a standing declaration for this enterprise).")
			}
			return err
		}
		if res.RowsAffected == 0 {
			return server.Errorf(server.ECONFLICT, "该回避声明刚被他人处理 (the declaration was just reviewed or withdrawn by someone else).")
		}
		addAudit(tx, declarationReviewAction[to], "declaration", id, nil)
		if err := tx.First(r, id).Error; err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// declarationState names where d stands, for messages.
func declarationState(d *server.Declaration) string {
	if d.WithdrawnAt != nil {
		return "withdrawn"
	}
	return string(d.Status)
}

// WithdrawDeclaration marks a standing declaration withdrawn, recording who
// and why; the row stays as history. Withdrawing a withdrawn declaration
// changes nothing, so a retry after a lost response is safe. The declarer
// may withdraw, and admins of the inspector's department (platform admins:
// any); an inspector may not withdraw one an admin entered. Lead
// coordinators may not withdraw.
func (s *DeclarationService) WithdrawDeclaration(ctx context.Context, id int64, reason string) (*server.Declaration, error) {
	if err := requireRole(ctx, declarationWriters...); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Declaration
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := findVisibleDeclaration(tx, actor, id)
		if err != nil {
			return err
		}
		if actor.Role == server.RoleInspector && r.DeclaredBy != actor.ID {
			return server.Errorf(server.EFORBIDDEN, "管理员录入的回避声明只能由管理员撤回 (a declaration an admin entered can be withdrawn only by an admin).")
		}
		if strings.TrimSpace(reason) == "" || len(reason) > maxReviewNote {
			return server.Errorf(server.EINVALID, "撤回须说明理由（%d字节以内）(a withdrawal needs a reason of at most %d bytes).", maxReviewNote, maxReviewNote)
		}
		d := r.domain()
		if d.WithdrawnAt != nil {
			out = d
			return nil
		}
		if !d.Standing() {
			return server.Errorf(server.ECONFLICT, "已驳回的回避声明不能撤回 (a rejected declaration cannot be withdrawn).")
		}
		// The condition keeps the first withdrawal should two race.
		if err := tx.Model(&declarationRow{}).Where("id = ? AND withdrawn_at IS NULL", id).
			Updates(map[string]any{"withdrawn_at": tx.Now, "withdrawn_by": actor.ID, "withdraw_reason": reason}).Error; err != nil {
			return err
		}
		addAudit(tx, "declaration.withdraw", "declaration", id, nil)
		if err := tx.First(r, id).Error; err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// FindEnterpriseIDByCreditCode returns the id of the enterprise with the
// credit code, for declaring by credit code. Inspectors may not read the
// directory, but they do declare; this tells them no more than declaring
// would. Returns EINVALID for a malformed code and ENOTFOUND for an unknown one.
func (s *DeclarationService) FindEnterpriseIDByCreditCode(ctx context.Context, code string) (int64, error) {
	if err := requireUser(ctx); err != nil {
		return 0, err
	}
	if err := server.CheckCreditCode(code); err != nil {
		return 0, err
	}
	var id int64
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var e enterpriseRow
		if err := tx.Select("id").Where("credit_code = ?", code).Take(&e).Error; err != nil {
			return translate(err, objEnterprise)
		}
		id = e.ID
		return nil
	})
	return id, err
}

// FindCreditCodes returns the credit codes of the enterprises with the given
// ids, so declarations can be shown with them. An inspector gets only the
// codes of enterprises named in their own declarations; ids the caller may
// not resolve are left out of the map.
func (s *DeclarationService) FindCreditCodes(ctx context.Context, ids []int64) (map[int64]string, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := tx.Model(&enterpriseRow{}).Select("id, credit_code").Where("id IN ?", ids)
		if !slices.Contains(enterpriseReaders, actor.Role) {
			mine := scopeInspectors(joinDeclarationInspectors(tx.Model(&declarationRow{})), actor).
				Select("conflict_declarations.enterprise_id")
			q = q.Where("id IN (?)", mine)
		}
		var rows []enterpriseRow
		if err := q.Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out[r.ID] = r.CreditCode
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
