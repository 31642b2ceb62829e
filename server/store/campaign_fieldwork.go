package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/draw"
)

// Steps 4–7 of the workflow: confirmations and replacements here; teams in
// campaign_teams.go, packets in packet.go, grouping reports in grouping.go.

var _ server.CampaignFieldworkService = (*CampaignService)(nil)

var objPacket = object{"检查包", "packet"}

// maxReplacementReason bounds a replacement's reason, in bytes.
const maxReplacementReason = 500

// fieldworkCampaignRow is the part of a campaigns row steps 4–7 read.
type fieldworkCampaignRow struct {
	ID                      int64
	Name                    string
	Status                  string
	LeadDepartmentID        int64
	WindowStart             string
	WindowEnd               string
	InspectorsPerDepartment int
	TargetsPerTeam          int
	ManifestHead            *string
	Seed                    *string
	ConfirmDeadline         *time.Time
}

func (fieldworkCampaignRow) TableName() string { return "campaigns" }

// fieldworkCampaign is a campaign as steps 4–7 see it: its row and the
// participating departments, in ascending id order.
type fieldworkCampaign struct {
	fieldworkCampaignRow
	departments []int64
}

func (c *fieldworkCampaign) participates(departmentID int64) bool {
	return slices.Contains(c.departments, departmentID)
}

// isLead reports whether actor is a lead coordinator of the campaign's lead department.
func (c *fieldworkCampaign) isLead(actor *server.User) bool {
	return actor.Role == server.RoleLeadCoordinator && actor.InDepartment(c.LeadDepartmentID)
}

// isParticipatingAdmin reports whether actor is an admin of a participating department.
func (c *fieldworkCampaign) isParticipatingAdmin(actor *server.User) bool {
	return actor.Role == server.RoleDepartmentAdmin && actor.DepartmentID != nil && c.participates(*actor.DepartmentID)
}

// seed returns the draw seed; ECONFLICT before the draw.
func (c *fieldworkCampaign) seed() (draw.Hash, error) {
	if c.Seed == nil || *c.Seed == "" {
		return draw.Hash{}, server.Errorf(server.ECONFLICT, "抽查任务尚未抽取 (the campaign has not been drawn yet).")
	}
	return draw.ParseHash(*c.Seed)
}

// requireStatus returns ECONFLICT unless the campaign is in one of statuses;
// zh and en name what was tried.
func (c *fieldworkCampaign) requireStatus(zh, en string, statuses ...server.CampaignStatus) error {
	if slices.Contains(statuses, server.CampaignStatus(c.Status)) {
		return nil
	}
	return server.Errorf(server.ECONFLICT, "抽查任务当前状态为%s，不能%s (the campaign is %s: %s is not possible now).",
		c.Status, zh, c.Status, en)
}

// withStaffCampaign runs fn in a transaction once the caller is known to be
// staff who may see campaign id: the common start of every read of a
// campaign's workflow records.
func (s *CampaignService) withStaffCampaign(ctx context.Context, id int64, fn func(tx *Tx) error) error {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return requireUser(ctx)
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := loadCampaignForStaff(tx, actor, id); err != nil {
			return err
		}
		return fn(tx)
	})
}

// loadCampaignForStaff returns the campaign if actor may see it: platform
// admins every campaign, department admins and lead coordinators those their
// department takes part in. Anyone else, and a campaign that does not exist,
// is ENOTFOUND. Drafts are left to the draft routes: steps 4–7 start at commit.
func loadCampaignForStaff(tx *Tx, actor *server.User, id int64) (*fieldworkCampaign, error) {
	c, err := loadFieldworkCampaign(tx, id)
	if err != nil {
		return nil, err
	}
	if !canSeeCampaign(actor, c) {
		return nil, notFound(objCampaign)
	}
	return c, nil
}

func canSeeCampaign(actor *server.User, c *fieldworkCampaign) bool {
	switch actor.Role {
	case server.RolePlatformAdmin:
		return true
	case server.RoleDepartmentAdmin, server.RoleLeadCoordinator:
		return actor.DepartmentID != nil && c.participates(*actor.DepartmentID)
	}
	return false
}

// loadFieldworkCampaign reads a campaign without any check of who asks.
func loadFieldworkCampaign(tx *Tx, id int64) (*fieldworkCampaign, error) {
	var c fieldworkCampaign
	err := tx.Select("id, name, status, lead_department_id, window_start, window_end, inspectors_per_department, "+
		"targets_per_team, manifest_head, seed, confirm_deadline").Where("id = ?", id).Take(&c.fieldworkCampaignRow).Error
	if err != nil {
		return nil, translate(err, objCampaign)
	}
	if err := tx.Table("campaign_departments").Where("campaign_id = ?", id).Order("department_id").
		Pluck("department_id", &c.departments).Error; err != nil {
		return nil, err
	}
	return &c, nil
}

// lockCampaign serializes the writers of one campaign's workflow state, so a
// replacement cannot slip in while the teams are drawn. SQLite transactions
// begin IMMEDIATE and are serialized already.
func lockCampaign(tx *Tx, id int64) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	var got []int64
	return tx.Raw("SELECT id FROM campaigns WHERE id = ? FOR UPDATE", id).Scan(&got).Error
}

// targetRow is a current target: selected and not replaced.
type targetRow struct {
	CreditCode   string
	Stratum      string
	Ticket       string
	EnterpriseID int64
}

// currentTargets returns the campaign's current targets by credit code.
func currentTargets(tx *Tx, campaignID int64) ([]targetRow, error) {
	var rows []targetRow
	err := tx.Raw(`SELECT s.credit_code, s.stratum, s.ticket, p.enterprise_id
		FROM draw_selections s
		JOIN campaign_population p ON p.campaign_id = s.campaign_id AND p.credit_code = s.credit_code
		WHERE s.campaign_id = ? AND NOT EXISTS (
			SELECT 1 FROM target_replacements r WHERE r.campaign_id = s.campaign_id AND r.replaced_code = s.credit_code)
		ORDER BY s.credit_code`, campaignID).Scan(&rows).Error
	return rows, err
}

// confirmationRow mirrors the target_confirmations table.
type confirmationRow struct {
	CampaignID   int64
	DepartmentID int64
	ConfirmedBy  int64
	ConfirmedAt  time.Time
}

func (confirmationRow) TableName() string { return "target_confirmations" }

// FindConfirmations lists every participating department's confirmation.
func (s *CampaignService) FindConfirmations(ctx context.Context, id int64) ([]*server.Confirmation, error) {
	st, err := s.FindConfirmationStatus(ctx, id)
	if err != nil {
		return nil, err
	}
	return st.Confirmations, nil
}

// FindConfirmationStatus lists every participating department's confirmation,
// by department id, with the deadline; a department that has not confirmed
// once the deadline has passed (on the store clock) is overdue.
func (s *CampaignService) FindConfirmationStatus(ctx context.Context, id int64) (*server.ConfirmationStatus, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	var out *server.ConfirmationStatus
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		var rows []confirmationRow
		if err := tx.Where("campaign_id = ?", id).Find(&rows).Error; err != nil {
			return err
		}
		byDept := map[int64]confirmationRow{}
		for _, r := range rows {
			byDept[r.DepartmentID] = r
		}
		out = &server.ConfirmationStatus{ConfirmDeadline: c.ConfirmDeadline}
		for _, d := range c.departments {
			cf := &server.Confirmation{DepartmentID: d}
			if r, ok := byDept[d]; ok {
				by, at := r.ConfirmedBy, r.ConfirmedAt
				cf.ConfirmedBy, cf.ConfirmedAt = &by, &at
			} else if c.ConfirmDeadline != nil && tx.Now.After(*c.ConfirmDeadline) {
				cf.Overdue = true
			}
			out.Confirmations = append(out.Confirmations, cf)
		}
		var reopened []reopeningRow
		if err := tx.Where("campaign_id = ?", id).Order("id").Find(&reopened).Error; err != nil {
			return err
		}
		out.Reopenings = make([]*server.ConfirmationReopening, len(reopened))
		for i, r := range reopened {
			out.Reopenings[i] = &server.ConfirmationReopening{
				DepartmentID: r.DepartmentID, ConfirmedBy: r.ConfirmedBy, ConfirmedAt: r.ConfirmedAt,
				ReplacementSeq: r.ReplacementSeq, ReopenedBy: r.ReopenedBy, ReopenedAt: r.ReopenedAt, Reason: r.Reason,
			}
		}
		return nil
	})
	return out, err
}

// ConfirmTargets records the caller's department's confirmation.
func (s *CampaignService) ConfirmTargets(ctx context.Context, id int64) (*server.Confirmation, error) {
	return s.ConfirmTargetsFor(ctx, id, nil)
}

// ConfirmTargetsFor records a participating department's confirmation of the
// drawn targets: a department admin confirms for their own department, a
// platform admin for the one departmentID names. Confirming twice returns the
// first confirmation. ECONFLICT unless the campaign is drawn.
func (s *CampaignService) ConfirmTargetsFor(ctx context.Context, id int64, departmentID *int64) (*server.Confirmation, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Confirmation
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if err := lockCampaign(tx, id); err != nil {
			return err
		}
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		dept, err := actingDepartment(actor, c, departmentID)
		if err != nil {
			return err
		}
		if err := c.requireStatus("确认", "confirming", server.CampaignDrawn); err != nil {
			return err
		}
		var rows []confirmationRow
		if err := tx.Where("campaign_id = ? AND department_id = ?", id, dept).Find(&rows).Error; err != nil {
			return err
		}
		r := confirmationRow{CampaignID: id, DepartmentID: dept, ConfirmedBy: actor.ID, ConfirmedAt: tx.Now}
		if len(rows) > 0 {
			r = rows[0]
		} else if err := tx.Create(&r).Error; err != nil {
			return translate(err, object{"确认记录", "confirmation"})
		} else {
			addAudit(tx, "campaign.confirm", "campaign", id, auditData{"department_id": dept})
		}
		by, at := r.ConfirmedBy, r.ConfirmedAt
		out = &server.Confirmation{DepartmentID: dept, ConfirmedBy: &by, ConfirmedAt: &at}
		return nil
	})
	return out, err
}

// actingDepartment returns the participating department a department admin
// or platform admin acts for: an admin their own (naming another is
// ENOTFOUND, as it is invisible to them), a platform admin the one named.
func actingDepartment(actor *server.User, c *fieldworkCampaign, departmentID *int64) (int64, error) {
	switch actor.Role {
	case server.RoleDepartmentAdmin:
		if actor.DepartmentID == nil || !c.participates(*actor.DepartmentID) {
			return 0, notFound(objCampaign)
		}
		if departmentID != nil && *departmentID != *actor.DepartmentID {
			return 0, notFound(objDepartment)
		}
		return *actor.DepartmentID, nil
	case server.RolePlatformAdmin:
		if departmentID == nil {
			return 0, server.Errorf(server.EINVALID, "须指定部门 (department_id required).")
		}
		if !c.participates(*departmentID) {
			return 0, server.Errorf(server.EINVALID, "该部门未参加本次抽查 (the department does not take part in this campaign).")
		}
		return *departmentID, nil
	}
	return 0, server.Errorf(server.EFORBIDDEN, "无权执行此操作 (your role may not do this).")
}

// replacementRow mirrors the target_replacements table.
type replacementRow struct {
	CampaignID      int64
	Seq             int
	ReplacedCode    string
	ReplacementCode string
	Reason          string
	DepartmentID    *int64
	CreatedBy       int64
	CreatedAt       time.Time
}

func (replacementRow) TableName() string { return "target_replacements" }

func (r *replacementRow) domain() *server.Replacement {
	return &server.Replacement{
		Seq: r.Seq, ReplacedCode: r.ReplacedCode, ReplacementCode: r.ReplacementCode, Reason: r.Reason,
		DepartmentID: r.DepartmentID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
	}
}

// validReplacementReason checks a reason is 1–500 bytes of printable UTF-8.
func validReplacementReason(reason string) error {
	if strings.TrimSpace(reason) == "" || len(reason) > maxReplacementReason || !utf8.ValidString(reason) {
		return server.Errorf(server.EINVALID, "替补理由须为1-%d字节 (reason must be 1-%d bytes).", maxReplacementReason, maxReplacementReason)
	}
	for _, r := range reason {
		if r < 0x20 || r == 0x7f {
			return server.Errorf(server.EINVALID, "替补理由不能含控制字符 (reason must not contain control characters).")
		}
	}
	return nil
}

// ReplaceTarget replaces a current target that cannot be inspected by the
// next ticket of its stratum (draw.Next over the frozen population, skipping
// every enterprise ever selected), as an append-only, reasoned event. Admins
// of participating departments, the lead coordinator and platform admins may
// replace while the campaign is drawn, that is until the teams are drawn:
// after that a replacement is ECONFLICT, since the teams, matches and
// packets were made for the old targets (a new draw means a new campaign). A
// replacement after confirmations re-opens them (reopenConfirmations).
func (s *CampaignService) ReplaceTarget(ctx context.Context, id int64, creditCode, reason string) (*server.Replacement, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	if err := validReplacementReason(reason); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.Replacement
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		if err := lockCampaign(tx, id); err != nil {
			return err
		}
		c, err := loadCampaignForStaff(tx, actor, id)
		if err != nil {
			return err
		}
		if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) && !c.isParticipatingAdmin(actor) {
			return server.Errorf(server.EFORBIDDEN, "只有参加部门的管理员或牵头部门协调人可以替补 (only a participating department's admin or the lead coordinator may replace a target).")
		}
		switch server.CampaignStatus(c.Status) {
		case server.CampaignTeamed, server.CampaignIssued:
			return server.Errorf(server.ECONFLICT, "已分组，不能再替补：分组、匹配和检查包都按现有检查对象生成 (teams are drawn: targets can no longer be replaced, since the teams, matches and packets were made for them).")
		}
		if err := c.requireStatus("替补", "replacing a target", server.CampaignDrawn); err != nil {
			return err
		}
		seed, err := c.seed()
		if err != nil {
			return err
		}
		var stratum []string
		if err := tx.Raw(`SELECT s.stratum FROM draw_selections s WHERE s.campaign_id = ? AND s.credit_code = ?
			AND NOT EXISTS (SELECT 1 FROM target_replacements r WHERE r.campaign_id = s.campaign_id AND r.replaced_code = s.credit_code)`,
			id, creditCode).Scan(&stratum).Error; err != nil {
			return err
		}
		if len(stratum) == 0 {
			return server.Errorf(server.EINVALID, "%s不是本次抽查的当前检查对象 (%s is not a current target of this campaign).", creditCode, creditCode)
		}
		var population []draw.PopulationEntry
		if err := tx.Raw("SELECT credit_code, stratum FROM campaign_population WHERE campaign_id = ? AND stratum = ?",
			id, stratum[0]).Scan(&population).Error; err != nil {
			return err
		}
		var selected []string
		if err := tx.Raw("SELECT credit_code FROM draw_selections WHERE campaign_id = ?", id).Scan(&selected).Error; err != nil {
			return err
		}
		used := make(map[string]bool, len(selected))
		for _, code := range selected {
			used[code] = true
		}
		next, ok := draw.Next(seed, population, stratum[0], used)
		if !ok {
			return server.Errorf(server.ECONFLICT, "该层已无可替补的企业 (no enterprise is left in the stratum to replace it).")
		}
		if err := tx.Exec("INSERT INTO draw_selections (campaign_id, credit_code, stratum, ticket, kind) VALUES (?, ?, ?, ?, 'replacement')",
			id, next.ID, next.Stratum, next.Ticket.String()).Error; err != nil {
			return fmt.Errorf("insert replacement selection: %w", err)
		}
		var seq int
		if err := tx.Raw("SELECT COALESCE(MAX(seq), 0) + 1 FROM target_replacements WHERE campaign_id = ?", id).Scan(&seq).Error; err != nil {
			return err
		}
		r := replacementRow{
			CampaignID: id, Seq: seq, ReplacedCode: creditCode, ReplacementCode: next.ID, Reason: reason,
			DepartmentID: actor.DepartmentID, CreatedBy: actor.ID, CreatedAt: tx.Now,
		}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, object{"替补记录", "replacement"})
		}
		if err := s.reopenConfirmations(tx, actor, c, &r); err != nil {
			return err
		}
		addAudit(tx, "campaign.replace_target", "campaign", id, auditData{"seq": r.Seq, "replaced": creditCode, "replacement": next.ID, "reason": reason})
		out = r.domain()
		return nil
	})
	return out, err
}

// reopenConfirmations withdraws every confirmation given before replacement
// r: each department confirmed a list of targets that has now changed. Each
// withdrawn confirmation is recorded (whose it was, who re-opened it by which
// replacement, when and why), and the deadline moves to one working day
// after the replacement if that is later, so the department can confirm
// again; teams wait for it.
func (s *CampaignService) reopenConfirmations(tx *Tx, actor *server.User, c *fieldworkCampaign, r *replacementRow) error {
	var confirmed []confirmationRow
	if err := tx.Where("campaign_id = ?", c.ID).Order("department_id").Find(&confirmed).Error; err != nil {
		return err
	}
	if len(confirmed) == 0 {
		return nil
	}
	for _, cf := range confirmed {
		ro := reopeningRow{
			CampaignID: c.ID, DepartmentID: cf.DepartmentID, ConfirmedBy: cf.ConfirmedBy, ConfirmedAt: cf.ConfirmedAt,
			ReplacementSeq: r.Seq, ReopenedBy: actor.ID, ReopenedAt: tx.Now,
			Reason: fmt.Sprintf("替补第%d号：%s由%s替补 (replacement %d: %s replaced by %s): %s",
				r.Seq, r.ReplacedCode, r.ReplacementCode, r.Seq, r.ReplacedCode, r.ReplacementCode, r.Reason),
		}
		if err := tx.Create(&ro).Error; err != nil {
			return translate(err, object{"确认撤回记录", "confirmation reopening"})
		}
	}
	if err := tx.Where("campaign_id = ?", c.ID).Delete(&confirmationRow{}).Error; err != nil {
		return err
	}
	deadline, err := s.confirmDeadline(tx.Now)
	if err != nil {
		return err
	}
	if c.ConfirmDeadline == nil || deadline.After(*c.ConfirmDeadline) {
		return tx.Model(&campaignRow{}).Where("id = ?", c.ID).Updates(map[string]any{
			"confirm_deadline": deadline.UTC(), "updated_at": tx.Now,
		}).Error
	}
	return nil
}

// reopeningRow mirrors the confirmation_reopenings table.
type reopeningRow struct {
	ID             int64
	CampaignID     int64
	DepartmentID   int64
	ConfirmedBy    int64
	ConfirmedAt    time.Time
	ReplacementSeq int
	ReopenedBy     int64
	ReopenedAt     time.Time
	Reason         string
}

func (reopeningRow) TableName() string { return "confirmation_reopenings" }

// FindReplacements lists a campaign's replacements in order.
func (s *CampaignService) FindReplacements(ctx context.Context, id int64) ([]*server.Replacement, error) {
	var out []*server.Replacement
	err := s.withStaffCampaign(ctx, id, func(tx *Tx) error {
		var rows []replacementRow
		if err := tx.Where("campaign_id = ?", id).Order("seq").Find(&rows).Error; err != nil {
			return err
		}
		out = make([]*server.Replacement, len(rows))
		for i := range rows {
			out[i] = rows[i].domain()
		}
		return nil
	})
	return out, err
}
