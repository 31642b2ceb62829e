package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Follow-up after the visit: rows of migration 00015. Approving a result
// whose code means problems were found opens the tasks (openFollowUps, in
// the approval's transaction); approving one that found the enterprise not
// locatable flags it for the abnormal operations list review.

var objFollowUp = object{"后续处理任务", "follow-up"}

type followUpRow struct {
	ID                 int64 `gorm:"primaryKey;autoIncrement"`
	ResultID           int64
	DepartmentID       int64
	CampaignID         int64
	EnterpriseID       int64
	State              string
	Findings           string
	AssigneeID         *int64
	DueAt              *time.Time
	ClosureRequestedBy *int64
	ClosureRequestedAt *time.Time
	ClosedBy           *int64
	ClosedAt           *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (followUpRow) TableName() string { return "followups" }

type followUpActionRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	FollowupID int64
	Kind       string
	FromState  string
	ToState    string
	ActorID    int64
	Text       string
	Evidence   string
	CreatedAt  time.Time
}

func (followUpActionRow) TableName() string { return "followup_actions" }

// FollowUpService implements server.FollowUpService.
type FollowUpService struct {
	db       *DB
	calendar *calendar.Calendar
	blobs    *BlobService
}

var _ server.FollowUpService = (*FollowUpService)(nil)

// NewFollowUpService returns the follow-up service; due dates count working
// days on cal; evidence is kept in blobs.
func NewFollowUpService(db *DB, cal *calendar.Calendar, blobs *BlobService) *FollowUpService {
	return &FollowUpService{db: db, calendar: cal, blobs: blobs}
}

// openFollowUps runs in the transaction that approves result r (viewed as
// v, just before approval): a code that means problems were found opens one
// task per department with jurisdiction over the findings (the department
// whose section the item was checked in, which for a department's result is
// that department; a code with problems but no finding, such as
// not_disclosed, still opens one for it); a code or a close that found the
// enterprise not locatable flags it for the abnormal operations list review.
func openFollowUps(tx *Tx, cal *calendar.Calendar, r *resultRow, v *syncproto.Result) error {
	var codes []resultCodeRow
	if err := tx.Where("code = ?", v.Code).Find(&codes).Error; err != nil {
		return err
	}
	if len(codes) != 1 {
		return fmt.Errorf("result %d: code %q not in the catalogue", r.ID, v.Code)
	}
	code := codes[0]
	reason := ""
	switch {
	case code.NotLocatable:
		reason = "result_code"
	default:
		for _, o := range v.Outcomes {
			if o == syncproto.OutcomeNotLocatable {
				reason = "close_outcome"
			}
		}
	}
	if reason != "" {
		res := tx.Exec(`INSERT INTO abnormal_operation_flags (result_id, enterprise_id, reason, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (result_id) DO NOTHING`, r.ID, r.EnterpriseID, reason, tx.Now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 { // approved again after a reopen: flagged once
			addAudit(tx, "enterprise.abnormal_flagged", "enterprise", r.EnterpriseID, auditData{"result_id": r.ID, "reason": reason})
		}
	}
	if !code.ProblemsFound {
		return nil
	}
	// A result approved again after a reopen (a correction) keeps the task
	// its first approval opened: the follow-up goes on, it is not doubled.
	var open int64
	if err := tx.Model(&followUpRow{}).Where("result_id = ? AND department_id = ?", r.ID, r.DepartmentID).Count(&open).Error; err != nil {
		return err
	}
	if open > 0 {
		return nil
	}
	findings := v.Findings
	if findings == nil {
		findings = []syncproto.ResultFinding{}
	}
	fb, err := json.Marshal(findings)
	if err != nil {
		return err
	}
	var days []int
	if err := tx.Raw("SELECT followup_due_working_days FROM campaigns WHERE id = ?", r.CampaignID).Scan(&days).Error; err != nil {
		return err
	}
	n := server.DefaultFollowUpWorkingDays
	if len(days) == 1 && days[0] > 0 {
		n = days[0]
	}
	var due *time.Time
	if d, err := cal.AddWorkingDays(tx.Now.In(calendar.Shanghai()), n); err == nil {
		due = &d
	}
	row := followUpRow{ResultID: r.ID, DepartmentID: r.DepartmentID, CampaignID: r.CampaignID, EnterpriseID: r.EnterpriseID,
		State: server.FollowUpStateOpen, Findings: string(fb), DueAt: due, CreatedAt: tx.Now, UpdatedAt: tx.Now}
	if err := tx.Create(&row).Error; err != nil {
		return err
	}
	var dueAt any
	if due != nil {
		dueAt = due.Format(time.RFC3339)
	}
	addAudit(tx, "followup.open", "followup", row.ID, auditData{"result_id": r.ID, "department_id": r.DepartmentID,
		"findings": len(findings), "due_at": dueAt})
	return nil
}

// followUpStateOf sums up result id's tasks: none, open or closed.
func followUpStateOf(tx *Tx, resultID int64) (string, error) {
	var states []string
	if err := tx.Raw("SELECT state FROM followups WHERE result_id = ?", resultID).Scan(&states).Error; err != nil {
		return "", err
	}
	return server.FollowUpState(states), nil
}

// abnormalFlagged reports whether result id flagged its enterprise.
func abnormalFlagged(tx *Tx, resultID int64) (bool, error) {
	var n int64
	if err := tx.Table("abnormal_operation_flags").Where("result_id = ?", resultID).Count(&n).Error; err != nil {
		return false, err
	}
	return n > 0, nil
}

// followUpScope restricts a followups query to what actor may see.
func followUpScope(tx *Tx, actor *server.User) (*gorm.DB, error) {
	q := tx.Model(&followUpRow{})
	switch {
	case actor == nil:
		return nil, server.Errorf(server.EUNAUTHORIZED, "请先登录 (sign in first).")
	case actor.Role == server.RolePlatformAdmin:
	case actor.DepartmentID == nil:
		q = q.Where("1 = 0")
	case actor.Role == server.RoleDepartmentAdmin:
		q = q.Where("department_id = ?", *actor.DepartmentID)
	case actor.Role == server.RoleLeadCoordinator:
		q = q.Where("(department_id = ? OR campaign_id IN (SELECT id FROM campaigns WHERE lead_department_id = ?))",
			*actor.DepartmentID, *actor.DepartmentID)
	case actor.Role == server.RoleInspector:
		q = q.Where("department_id = ? AND assignee_id = ?", *actor.DepartmentID, actor.ID)
	default:
		q = q.Where("1 = 0")
	}
	return q, nil
}

func loadVisibleFollowUp(tx *Tx, actor *server.User, id int64) (*followUpRow, error) {
	q, err := followUpScope(tx, actor)
	if err != nil {
		return nil, err
	}
	var r followUpRow
	if err := q.Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, translate(err, objFollowUp)
	}
	return &r, nil
}

// view builds the task as its readers see it, its log included.
func (s *FollowUpService) view(tx *Tx, r *followUpRow) (*server.FollowUp, error) {
	sh := calendar.Shanghai()
	out := &server.FollowUp{
		ID: r.ID, ResultID: r.ResultID, CampaignID: r.CampaignID, EnterpriseID: r.EnterpriseID, DepartmentID: r.DepartmentID,
		State: r.State, AssigneeID: r.AssigneeID, DueAt: shanghaiPtr(r.DueAt),
		ClosureRequestedBy: r.ClosureRequestedBy, ClosureRequestedAt: shanghaiPtr(r.ClosureRequestedAt),
		ClosedBy: r.ClosedBy, ClosedAt: shanghaiPtr(r.ClosedAt), Actions: []server.FollowUpRecord{},
		CreatedAt: r.CreatedAt.In(sh), UpdatedAt: r.UpdatedAt.In(sh),
	}
	if err := json.Unmarshal([]byte(r.Findings), &out.Findings); err != nil {
		return nil, fmt.Errorf("follow-up %d findings: %w", r.ID, err)
	}
	var ent struct{ CreditCode, Name string }
	if err := tx.Raw("SELECT credit_code, name FROM enterprises WHERE id = ?", r.EnterpriseID).Scan(&ent).Error; err != nil {
		return nil, err
	}
	out.CreditCode, out.EnterpriseName = ent.CreditCode, ent.Name
	var dept []string
	if err := tx.Raw("SELECT code FROM departments WHERE id = ?", r.DepartmentID).Scan(&dept).Error; err != nil {
		return nil, err
	}
	if len(dept) == 1 {
		out.Department = dept[0]
	}
	var code []*string
	if err := tx.Raw("SELECT code FROM results WHERE id = ?", r.ResultID).Scan(&code).Error; err != nil {
		return nil, err
	}
	if len(code) == 1 && code[0] != nil {
		out.ResultCode = *code[0]
	}
	if r.DueAt == nil {
		out.DeadlineError = "工作日历缺少该年数据，无法计算期限 (the calendar cannot count this due date)."
	} else if r.State != server.FollowUpStateClosed && tx.Now.After(*r.DueAt) {
		out.Overdue = true
	}
	var acts []followUpActionRow
	if err := tx.Where("followup_id = ?", r.ID).Order("id").Find(&acts).Error; err != nil {
		return nil, err
	}
	for _, a := range acts {
		rec := server.FollowUpRecord{ID: a.ID, Kind: server.FollowUpAction(a.Kind), FromState: a.FromState, ToState: a.ToState,
			ActorID: a.ActorID, Text: a.Text, CreatedAt: a.CreatedAt.In(sh)}
		if err := json.Unmarshal([]byte(a.Evidence), &rec.Evidence); err != nil {
			return nil, fmt.Errorf("follow-up action %d evidence: %w", a.ID, err)
		}
		out.Actions = append(out.Actions, rec)
	}
	return out, nil
}

// FindFollowUps lists the tasks the caller may see that match f, by id.
func (s *FollowUpService) FindFollowUps(ctx context.Context, f server.FollowUpFilter) ([]server.FollowUp, error) {
	actor := server.UserFromContext(ctx)
	out := []server.FollowUp{}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		q, err := followUpScope(tx, actor)
		if err != nil {
			return err
		}
		if f.CampaignID != nil {
			q = q.Where("campaign_id = ?", *f.CampaignID)
		}
		if f.State != nil {
			q = q.Where("state = ?", *f.State)
		}
		if f.Overdue {
			q = q.Where("state <> ? AND due_at IS NOT NULL AND due_at < ?", server.FollowUpStateClosed, tx.Now)
		}
		var rows []followUpRow
		if err := q.Order("id").Find(&rows).Error; err != nil {
			return err
		}
		for i := range rows {
			v, err := s.view(tx, &rows[i])
			if err != nil {
				return err
			}
			out = append(out, *v)
		}
		return nil
	})
	return out, err
}

// FindFollowUpByID returns a task the caller may see.
func (s *FollowUpService) FindFollowUpByID(ctx context.Context, id int64) (*server.FollowUp, error) {
	var out *server.FollowUp
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := loadVisibleFollowUp(tx, server.UserFromContext(ctx), id)
		if err != nil {
			return err
		}
		out, err = s.view(tx, r)
		return err
	})
	return out, err
}

// followUpAuditAction names the audit event of each action.
var followUpAuditAction = map[server.FollowUpAction]string{
	server.FollowUpActionAssign: "followup.assign", server.FollowUpActionStart: "followup.start",
	server.FollowUpActionNote: "followup.action", server.FollowUpActionRequestClosure: "followup.request_closure",
	server.FollowUpActionRefuse: "followup.refuse_closure", server.FollowUpActionClose: "followup.close",
}

// transition runs one step of the state machine on task id: the role gate,
// visibility, the machine, who may act, then check (preconditions and the
// body), then the write of the changed columns, the log entry and the
// audit event.
func (s *FollowUpService) transition(ctx context.Context, id int64, action server.FollowUpAction,
	check func(tx *Tx, actor *server.User, r *followUpRow, f *server.FollowUp) (set map[string]any, text string, evidence []string, audit auditData, err error)) (*server.FollowUp, error) {
	if err := requireRole(ctx, server.RoleDepartmentAdmin, server.RoleInspector); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.FollowUp
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := loadVisibleFollowUp(tx, actor, id)
		if err != nil {
			return err
		}
		to, err := server.NextFollowUpState(r.State, action)
		if err != nil {
			return err
		}
		f, err := s.view(tx, r)
		if err != nil {
			return err
		}
		if err := server.CheckFollowUpActor(action, actor, f); err != nil {
			return err
		}
		set, text, evidence, audit, err := check(tx, actor, r, f)
		if err != nil {
			return err
		}
		if evidence == nil {
			evidence = []string{}
		}
		if err := checkEvidence(tx, r.ID, evidence); err != nil {
			return err
		}
		set["state"], set["updated_at"] = to, tx.Now
		res := tx.Model(&followUpRow{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return server.Errorf(server.ECONFLICT, "任务已被他人处理，请刷新 (the follow-up changed meanwhile; reload it).")
		}
		eb, err := json.Marshal(evidence)
		if err != nil {
			return err
		}
		if err := tx.Create(&followUpActionRow{FollowupID: r.ID, Kind: string(action), FromState: r.State, ToState: to,
			ActorID: actor.ID, Text: text, Evidence: string(eb), CreatedAt: tx.Now}).Error; err != nil {
			return err
		}
		if audit == nil {
			audit = auditData{}
		}
		audit["from"], audit["to"] = r.State, to
		if len(evidence) > 0 {
			audit["evidence"] = evidence
		}
		addAudit(tx, followUpAuditAction[action], "followup", r.ID, audit)
		if err := tx.Where("id = ?", r.ID).Take(r).Error; err != nil {
			return err
		}
		out, err = s.view(tx, r)
		return err
	})
	return out, err
}

// checkEvidence requires every hash to be evidence uploaded for task id.
func checkEvidence(tx *Tx, id int64, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	var have []string
	if err := tx.Raw("SELECT sha256 FROM followup_evidence WHERE followup_id = ? AND sha256 IN ?", id, hashes).Scan(&have).Error; err != nil {
		return err
	}
	for _, h := range hashes {
		found := false
		for _, x := range have {
			found = found || x == h
		}
		if !found {
			return server.Errorf(server.EINVALID, "附件%s未上传到该任务，请先上传 (evidence %s was not uploaded to this follow-up: upload it first).", h, h)
		}
	}
	return nil
}

// AssignFollowUp sets the task's assignee: an active inspector or admin of
// its department, chosen by the department's admin.
func (s *FollowUpService) AssignFollowUp(ctx context.Context, id, assigneeID int64) (*server.FollowUp, error) {
	return s.transition(ctx, id, server.FollowUpActionAssign, func(tx *Tx, actor *server.User, r *followUpRow, f *server.FollowUp) (map[string]any, string, []string, auditData, error) {
		if assigneeID <= 0 {
			return nil, "", nil, nil, server.Errorf(server.EINVALID, "须指定承办人assignee_id (assignee_id is required).")
		}
		var u userRow
		if err := tx.Where("id = ?", assigneeID).Take(&u).Error; err != nil {
			if err == gorm.ErrRecordNotFound {
				return nil, "", nil, nil, server.CheckFollowUpAssignee(nil, r.DepartmentID)
			}
			return nil, "", nil, nil, err
		}
		if err := server.CheckFollowUpAssignee(u.domain(), r.DepartmentID); err != nil {
			return nil, "", nil, nil, err
		}
		return map[string]any{"assignee_id": assigneeID}, fmt.Sprintf("指派给%s (assigned to %s)", u.Username, u.Username),
			nil, auditData{"assignee_id": assigneeID}, nil
	})
}

// ActOnFollowUp takes one of start, note, request_closure, refuse or close.
func (s *FollowUpService) ActOnFollowUp(ctx context.Context, id int64, action server.FollowUpAction, e server.FollowUpEntry) (*server.FollowUp, error) {
	switch action {
	case server.FollowUpActionStart, server.FollowUpActionNote, server.FollowUpActionRequestClosure,
		server.FollowUpActionRefuse, server.FollowUpActionClose:
	default:
		return nil, server.Errorf(server.EINVALID, "未知操作%q (unknown action %q).", action, action)
	}
	return s.transition(ctx, id, action, func(tx *Tx, actor *server.User, r *followUpRow, f *server.FollowUp) (map[string]any, string, []string, auditData, error) {
		set := map[string]any{}
		if action == server.FollowUpActionStart && r.AssigneeID == nil {
			return nil, "", nil, nil, server.Errorf(server.ECONFLICT, "任务尚未指派承办人 (the follow-up has no assignee yet: assign it first).")
		}
		needText := action == server.FollowUpActionNote || action == server.FollowUpActionRequestClosure || action == server.FollowUpActionRefuse
		if err := e.Validate(needText); err != nil {
			return nil, "", nil, nil, err
		}
		switch action {
		case server.FollowUpActionRequestClosure:
			set["closure_requested_by"], set["closure_requested_at"] = actor.ID, tx.Now
		case server.FollowUpActionRefuse:
			set["closure_requested_by"], set["closure_requested_at"] = nil, nil
		case server.FollowUpActionClose:
			set["closed_by"], set["closed_at"] = actor.ID, tx.Now
		}
		return set, e.Text, e.Evidence, nil, nil
	})
}

// CanWork returns nil if the caller may add entries to task id now: it
// sees the task, may take a note on it, and the task is not closed.
func (s *FollowUpService) CanWork(ctx context.Context, id int64) error {
	if err := requireRole(ctx, server.RoleDepartmentAdmin, server.RoleInspector); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	return s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := loadVisibleFollowUp(tx, actor, id)
		if err != nil {
			return err
		}
		if _, err := server.NextFollowUpState(r.State, server.FollowUpActionNote); err != nil {
			return err
		}
		return server.CheckFollowUpActor(server.FollowUpActionNote, actor, &server.FollowUp{DepartmentID: r.DepartmentID, AssigneeID: r.AssigneeID})
	})
}

// AddEvidence records a stored blob as evidence of task id, after CanWork.
func (s *FollowUpService) AddEvidence(ctx context.Context, id int64, sha string) error {
	if err := s.CanWork(ctx, id); err != nil {
		return err
	}
	actor := server.UserFromContext(ctx)
	return s.db.WithTx(ctx, func(tx *Tx) error {
		return followUpEvidence.attach(tx, id, sha, actor)
	})
}

// OpenEvidence returns evidence of task id to a caller who may see the task.
func (s *FollowUpService) OpenEvidence(ctx context.Context, id int64, sha string) (*server.Blob, io.ReadSeekCloser, error) {
	var b *server.Blob
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		// Visibility first: a caller who may not see the task learns nothing from the hash's check.
		if _, err := loadVisibleFollowUp(tx, server.UserFromContext(ctx), id); err != nil {
			return err
		}
		var err error
		b, err = followUpEvidence.find(tx, id, sha)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return s.blobs.openFile(b)
}

// FindAbnormalCandidates lists the enterprises flagged for the abnormal
// operations list review, newest first: to platform admins, and to
// department admins and lead coordinators for the results they may see.
func (s *FollowUpService) FindAbnormalCandidates(ctx context.Context) ([]server.AbnormalCandidate, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	out := []server.AbnormalCandidate{}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		scope, err := resultScope(tx, actor)
		if err != nil {
			return err
		}
		visible := scope.DB.Select("id")
		var rows []struct {
			EnterpriseID   int64
			CreditCode     string
			EnterpriseName string
			ResultID       int64
			CampaignID     int64
			DepartmentID   int64
			Department     string
			ResultCode     *string
			Reason         string
			FlaggedAt      time.Time
		}
		if err := tx.Raw(`SELECT f.enterprise_id, e.credit_code, e.name AS enterprise_name, f.result_id, r.campaign_id,
				r.department_id, d.code AS department, r.code AS result_code, f.reason, f.created_at AS flagged_at
			FROM abnormal_operation_flags f JOIN results r ON r.id = f.result_id
			JOIN enterprises e ON e.id = f.enterprise_id JOIN departments d ON d.id = r.department_id
			WHERE f.result_id IN (?) ORDER BY f.created_at DESC, f.result_id DESC`, visible).Scan(&rows).Error; err != nil {
			return err
		}
		for _, x := range rows {
			c := server.AbnormalCandidate{EnterpriseID: x.EnterpriseID, CreditCode: x.CreditCode, EnterpriseName: x.EnterpriseName,
				ResultID: x.ResultID, CampaignID: x.CampaignID, DepartmentID: x.DepartmentID, Department: x.Department,
				Reason: x.Reason, FlaggedAt: x.FlaggedAt.In(calendar.Shanghai())}
			if x.ResultCode != nil {
				c.ResultCode = *x.ResultCode
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
