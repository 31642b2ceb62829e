package store

import (
	"context"
	"strings"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// checkItemRow mirrors the check_items table.
type checkItemRow struct {
	ID           int64
	DepartmentID int64
	Code         string
	Version      int
	Title        string
	LegalBasis   string
	AnswerType   string
	CreatedAt    time.Time
	RetiredAt    *time.Time
}

func (checkItemRow) TableName() string { return "check_items" }

func (r *checkItemRow) domain() *server.CheckItem {
	return &server.CheckItem{
		ID: r.ID, DepartmentID: r.DepartmentID, Code: r.Code, Version: r.Version, Title: r.Title,
		LegalBasis: r.LegalBasis, AnswerType: server.AnswerType(r.AnswerType), CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt,
	}
}

// CheckItemService implements server.CheckItemService.
type CheckItemService struct{ db *DB }

var _ server.CheckItemService = (*CheckItemService)(nil)

// NewCheckItemService returns the check-item service on db.
func NewCheckItemService(db *DB) *CheckItemService { return &CheckItemService{db: db} }

// FindCheckItems lists check items, of one department or all, ordered by
// department, code and version. Retired versions are left out unless
// includeRetired. Everyone signed in may read the catalogues.
func (s *CheckItemService) FindCheckItems(ctx context.Context, departmentID *int64, includeRetired bool) ([]*server.CheckItem, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	var out []*server.CheckItem
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q := tx.Model(&checkItemRow{})
		if departmentID != nil {
			q = q.Where("department_id = ?", *departmentID)
		}
		if !includeRetired {
			q = q.Where("retired_at IS NULL")
		}
		var rows []checkItemRow
		if err := q.Order("department_id, code, version").Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.CheckItem, len(rows))
		for i := range rows {
			out[i] = rows[i].domain()
		}
		return nil
	})
	return out, err
}

// validCheckItemCode reports whether code can appear in a manifest's
// CODE@VERSION list: letters, digits, '.', '_' and '-' only.
func validCheckItemCode(code string) bool {
	// Codes reach the manifest, which people open in spreadsheets: no
	// leading "-" that could start a formula.
	if code == "" || len(code) > 64 || server.FormulaLeading(code) {
		return false
	}
	for _, c := range code {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CreateCheckItem creates version 1 of a new code, or the next version of an
// existing code and retires the versions before it. Department admins create
// their own department's items (DepartmentID defaults to theirs), platform
// admins any department's.
func (s *CheckItemService) CreateCheckItem(ctx context.Context, item *server.CheckItem) error {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	if actor.Role == server.RoleDepartmentAdmin {
		if item.DepartmentID == 0 && actor.DepartmentID != nil {
			item.DepartmentID = *actor.DepartmentID
		}
		if !actor.InDepartment(item.DepartmentID) {
			return server.Errorf(server.EFORBIDDEN, "只能管理本部门的检查事项 (you may manage only your own department's check items).")
		}
	}
	switch item.AnswerType {
	case "":
		item.AnswerType = server.AnswerCompliance
	case server.AnswerCompliance, server.AnswerText, server.AnswerNumber:
	default:
		return server.Errorf(server.EINVALID, "答题方式须为compliance、text或number (answer type must be compliance, text or number): %q", item.AnswerType)
	}
	switch {
	case item.DepartmentID <= 0:
		return server.Errorf(server.EINVALID, "须指定部门 (department required).")
	case !validCheckItemCode(item.Code):
		return server.Errorf(server.EINVALID, "事项编码须为1-64个字母、数字、点、下划线或连字符，不能以连字符开头 (code must be 1-64 letters, digits, '.', '_' or '-', not starting with '-').")
	case strings.TrimSpace(item.Title) == "" || len(item.Title) > 200:
		return server.Errorf(server.EINVALID, "事项名称须为1-200字节 (title must be 1-200 bytes).")
	case len(item.LegalBasis) > 2000:
		return server.Errorf(server.EINVALID, "检查依据过长 (legal basis longer than 2000 bytes).")
	}
	if err := server.CheckLine("事项名称 (title)", item.Title, 200); err != nil {
		return err
	}
	if err := server.CheckText("检查依据 (legal basis)", item.LegalBasis, 2000); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		var d departmentRow
		if err := tx.Select("id").First(&d, item.DepartmentID).Error; err != nil {
			return translate(err, objDepartment)
		}
		var last struct{ V *int }
		if err := tx.Model(&checkItemRow{}).Select("MAX(version) AS v").
			Where("department_id = ? AND code = ?", item.DepartmentID, item.Code).Scan(&last).Error; err != nil {
			return err
		}
		version := 1
		if last.V != nil {
			version = *last.V + 1
		}
		// A new version replaces the old one in new campaigns; committed
		// campaigns keep naming the version they froze.
		if err := tx.Model(&checkItemRow{}).
			Where("department_id = ? AND code = ? AND retired_at IS NULL", item.DepartmentID, item.Code).
			Update("retired_at", tx.Now).Error; err != nil {
			return err
		}
		r := checkItemRow{
			DepartmentID: item.DepartmentID, Code: item.Code, Version: version, Title: item.Title,
			LegalBasis: item.LegalBasis, AnswerType: string(item.AnswerType), CreatedAt: tx.Now,
		}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objCheckItem)
		}
		addAudit(tx, "check_item.create", "check_item", r.ID, auditData{"department_id": r.DepartmentID, "code": r.Code, "version": r.Version})
		*item = *r.domain()
		return nil
	})
}

// RetireCheckItem retires one version. Retiring a retired item changes
// nothing. Another department's item is ENOTFOUND to a department admin.
func (s *CheckItemService) RetireCheckItem(ctx context.Context, id int64) (*server.CheckItem, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.CheckItem
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r checkItemRow
		if err := tx.First(&r, id).Error; err != nil {
			return translate(err, objCheckItem)
		}
		if actor.Role != server.RolePlatformAdmin && !actor.InDepartment(r.DepartmentID) {
			return notFound(objCheckItem)
		}
		if r.RetiredAt == nil {
			if err := tx.Model(&checkItemRow{}).Where("id = ? AND retired_at IS NULL", id).Update("retired_at", tx.Now).Error; err != nil {
				return err
			}
			if err := tx.First(&r, id).Error; err != nil {
				return err
			}
			addAudit(tx, "check_item.retire", "check_item", id, auditData{"department_id": r.DepartmentID, "code": r.Code, "version": r.Version})
		}
		out = r.domain()
		return nil
	})
	return out, err
}
