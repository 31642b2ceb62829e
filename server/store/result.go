package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Results after the visit: rows of migration 00013. A department's result
// for a packet is drafted (a row in state draft) when its section is first
// sealed; what a draft shows — findings, outcomes, suggested code — is read
// live from the latest sealed version, so a correction is followed. Entry
// snapshots them with the version it was entered from; a later correction
// flags the entered or approved result based_on_older_version.

var objResult = object{"检查结果", "result"}
var objResultCode = object{"结果代码", "result code"}

type resultCodeRow struct {
	Code          string `gorm:"primaryKey"`
	Title         string
	ProblemsFound bool
	NotLocatable  bool
	Position      int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (resultCodeRow) TableName() string { return "result_codes" }

func (r *resultCodeRow) domain() *server.ResultCode {
	return &server.ResultCode{Code: r.Code, Title: r.Title, ProblemsFound: r.ProblemsFound, NotLocatable: r.NotLocatable,
		Position: r.Position, CreatedAt: r.CreatedAt.In(calendar.Shanghai()), UpdatedAt: r.UpdatedAt.In(calendar.Shanghai())}
}

type resultRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	PacketID       string
	DepartmentID   int64
	CampaignID     int64
	EnterpriseID   int64
	State          string
	SectionVersion int
	Code           *string
	Summary        string
	Findings       string
	Outcomes       string
	EnteredBy      *int64
	EnteredFor     *int64
	EnteredAt      *time.Time
	ReviewedBy     *int64
	ReviewedAt     *time.Time
	ReturnReason   string
	Resolutions    string
	ApprovedAt     *time.Time
	PublishedAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (resultRow) TableName() string { return "results" }

type resultEventRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	ResultID  int64
	Action    string
	FromState string
	ToState   string
	ActorID   int64
	Reason    string
	CreatedAt time.Time
}

func (resultEventRow) TableName() string { return "result_events" }

// ResultService implements server.ResultService.
type ResultService struct {
	db       *DB
	calendar *calendar.Calendar
}

var _ server.ResultService = (*ResultService)(nil)

// NewResultService returns the result service; deadlines count working days on cal.
func NewResultService(db *DB, cal *calendar.Calendar) *ResultService {
	return &ResultService{db: db, calendar: cal}
}

// ensureResults drafts each packet department's result, once: called for
// the sections a push sealed.
func ensureResults(tx *Tx, drafted []answerKey) error {
	for batch := range slices.Chunk(drafted, flushBatch) {
		args := []any{syncproto.ResultDraft, tx.Now, tx.Now}
		for _, k := range batch {
			args = append(args, k.packet, k.dept)
		}
		if err := tx.Exec(`INSERT INTO results (packet_id, department_id, campaign_id, enterprise_id, state, created_at, updated_at)
			SELECT p.id, d.id, p.campaign_id, p.enterprise_id, ?, ?, ? FROM packets p, departments d
			WHERE (p.id, d.code) IN (VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?), ", len(batch)), ", ")+`)
			ON CONFLICT (packet_id, department_id) DO NOTHING`, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// FindResultCodes lists the catalogue in its order, to anyone signed in.
func (s *ResultService) FindResultCodes(ctx context.Context) ([]*server.ResultCode, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	var rows []resultCodeRow
	if err := s.db.gorm.WithContext(ctx).Order("position, code").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*server.ResultCode, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// CreateResultCode appends a code to the catalogue; platform admins only.
func (s *ResultService) CreateResultCode(ctx context.Context, c *server.ResultCode) error {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *Tx) error {
		var pos []int
		if err := tx.Raw("SELECT COALESCE(MAX(position), 0) FROM result_codes").Scan(&pos).Error; err != nil {
			return err
		}
		r := resultCodeRow{Code: c.Code, Title: strings.TrimSpace(c.Title), ProblemsFound: c.ProblemsFound, NotLocatable: c.NotLocatable,
			Position: pos[0] + 1, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, objResultCode)
		}
		*c = *r.domain()
		return nil
	})
}

// UpdateResultCodeTitle retitles a code; platform admins only. The code
// itself and its meaning (problems found, not locatable) never change.
func (s *ResultService) UpdateResultCodeTitle(ctx context.Context, code, title string) (*server.ResultCode, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin); err != nil {
		return nil, err
	}
	var out *server.ResultCode
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var r resultCodeRow
		if err := tx.Where("code = ?", code).Take(&r).Error; err != nil {
			return translate(err, objResultCode)
		}
		if err := server.ValidateResultTitle(title); err != nil {
			return err
		}
		r.Title, r.UpdatedAt = strings.TrimSpace(title), tx.Now
		if err := tx.Model(&resultCodeRow{}).Where("code = ?", code).
			Updates(map[string]any{"title": r.Title, "updated_at": r.UpdatedAt}).Error; err != nil {
			return err
		}
		out = r.domain()
		return nil
	})
	return out, err
}

// resultScope restricts a results query to what actor may see.
func resultScope(tx *Tx, actor *server.User) (*Tx, error) {
	q := tx.Model(&resultRow{})
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
	case actor.Role == server.RoleInspector && actor.InspectorID != nil:
		q = q.Where(`department_id = ? AND packet_id IN (SELECT p.id FROM packets p JOIN team_members tm
			ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no WHERE tm.inspector_id = ?)`,
			*actor.DepartmentID, *actor.InspectorID)
	default:
		q = q.Where("1 = 0")
	}
	return &Tx{DB: q, Now: tx.Now}, nil
}

// findResultRows reads the results actor may see that match f, by id.
func findResultRows(tx *Tx, actor *server.User, f server.ResultFilter, states ...string) ([]resultRow, error) {
	q, err := resultScope(tx, actor)
	if err != nil {
		return nil, err
	}
	g := q.DB
	if f.CampaignID != nil {
		g = g.Where("campaign_id = ?", *f.CampaignID)
	}
	if f.PacketID != nil {
		g = g.Where("packet_id = ?", *f.PacketID)
	}
	if f.State != nil {
		g = g.Where("state = ?", *f.State)
	}
	if len(states) > 0 {
		g = g.Where("state IN ?", states)
	}
	var rows []resultRow
	if err := g.Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// loadVisibleResult reads result id if actor may see it (ENOTFOUND otherwise).
func loadVisibleResult(tx *Tx, actor *server.User, id int64) (*resultRow, error) {
	q, err := resultScope(tx, actor)
	if err != nil {
		return nil, err
	}
	var r resultRow
	if err := q.DB.Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, translate(err, objResult)
	}
	return &r, nil
}

// resultContext is what a result's view is built from.
type resultContext struct {
	packet   packetRow
	content  server.PacketContent
	joint    *syncproto.JointRecord
	dept     departmentRef
	campaign struct {
		Name                      string
		EntryDueWorkingDays       int
		PublicationDueWorkingDays int
	}
}

func loadResultContext(tx *Tx, r *resultRow) (*resultContext, error) {
	rc := &resultContext{}
	if err := tx.Where("id = ?", r.PacketID).Take(&rc.packet).Error; err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(rc.packet.Content), &rc.content); err != nil {
		return nil, fmt.Errorf("packet %s: content: %w", r.PacketID, err)
	}
	var err error
	if rc.joint, err = jointRecord(tx, r.PacketID); err != nil {
		return nil, err
	}
	if err := tx.Raw("SELECT id, code, name FROM departments WHERE id = ?", r.DepartmentID).Scan(&rc.dept).Error; err != nil {
		return nil, err
	}
	if err := tx.Raw("SELECT name, entry_due_working_days, publication_due_working_days FROM campaigns WHERE id = ?", r.CampaignID).
		Scan(&rc.campaign).Error; err != nil {
		return nil, err
	}
	return rc, nil
}

// section is the department's part of the joint record.
func (rc *resultContext) section() *syncproto.JointSection {
	for i := range rc.joint.Sections {
		if rc.joint.Sections[i].Department == rc.dept.Code {
			return &rc.joint.Sections[i]
		}
	}
	return nil
}

// onTeam reports whether inspector id is on the packet's team, in the result's department.
func (rc *resultContext) onTeam(inspectorID *int64) bool {
	if inspectorID == nil {
		return false
	}
	for _, m := range rc.content.Team {
		if m.InspectorID == *inspectorID && m.Department == rc.dept.Code {
			return true
		}
	}
	return false
}

// live returns the current sealed version's findings and the closes' outcomes.
func (rc *resultContext) live() (version int, findings []syncproto.ResultFinding, outcomes []string) {
	findings, outcomes = []syncproto.ResultFinding{}, []string{}
	titles := map[string]string{}
	for _, s := range rc.content.Sections {
		if s.Department == rc.dept.Code {
			for _, it := range s.Items {
				titles[it.Code] = it.Title
			}
		}
	}
	if js := rc.section(); js != nil && js.Current != nil {
		version = js.Current.Section.Version
		for _, a := range js.Current.Section.Answers {
			if a.Result != syncproto.ResultNonCompliant {
				continue
			}
			f := syncproto.ResultFinding{ItemCode: a.ItemCode, ItemVersion: a.ItemVersion, Title: titles[a.ItemCode], Note: a.Note, Photos: []string{}}
			for _, p := range a.Photos {
				f.Photos = append(f.Photos, p.SHA256)
			}
			findings = append(findings, f)
		}
	}
	for _, c := range rc.joint.Closes {
		outcomes = append(outcomes, c.Record.Close.Outcome)
	}
	return version, findings, outcomes
}

// visitDate is the day of the visit in Asia/Shanghai: the first close's
// date, else the day the section's first version was sealed.
func (rc *resultContext) visitDate() (time.Time, bool) {
	sh := calendar.Shanghai()
	var t time.Time
	for _, c := range rc.joint.Closes {
		if t.IsZero() || c.Record.ClosedAt.Before(t) {
			t = c.Record.ClosedAt
		}
	}
	if t.IsZero() {
		if js := rc.section(); js != nil && len(js.History) > 0 {
			t = js.History[0].Section.SealedAt
		}
	}
	if t.IsZero() {
		return time.Time{}, false
	}
	t = t.In(sh)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, sh), true
}

func shanghaiPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.In(calendar.Shanghai())
	return &v
}

// view builds the result as its readers see it.
func (s *ResultService) view(tx *Tx, r *resultRow) (*syncproto.Result, error) {
	rc, err := loadResultContext(tx, r)
	if err != nil {
		return nil, err
	}
	return s.viewWith(tx, r, rc)
}

func (s *ResultService) viewWith(tx *Tx, r *resultRow, rc *resultContext) (*syncproto.Result, error) {
	sh := calendar.Shanghai()
	out := &syncproto.Result{
		ID: r.ID, PacketID: r.PacketID, CampaignID: r.CampaignID, CampaignName: rc.campaign.Name,
		EnterpriseID: r.EnterpriseID, CreditCode: rc.content.Enterprise.CreditCode, EnterpriseName: rc.content.Enterprise.Name,
		DepartmentID: r.DepartmentID, Department: rc.dept.Code, State: r.State, Summary: r.Summary,
		EnteredBy: r.EnteredBy, EnteredFor: r.EnteredFor, EnteredAt: shanghaiPtr(r.EnteredAt),
		ReviewedBy: r.ReviewedBy, ReviewedAt: shanghaiPtr(r.ReviewedAt), ApprovedAt: shanghaiPtr(r.ApprovedAt),
		PublishedAt: shanghaiPtr(r.PublishedAt), FollowUp: syncproto.FollowUpNone,
		Resolutions: []syncproto.ResultResolution{}, Flags: []syncproto.RecordFlag{},
		CreatedAt: r.CreatedAt.In(sh), UpdatedAt: r.UpdatedAt.In(sh),
	}
	if r.State == syncproto.ResultReturned {
		out.ReturnReason = r.ReturnReason
	}
	if r.State == syncproto.ResultApproved {
		fu, err := followUpStateOf(tx, r.ID)
		if err != nil {
			return nil, err
		}
		out.FollowUp = fu
	}
	current, findings, outcomes := rc.live()
	out.CurrentSectionVersion = current
	switch r.State {
	case syncproto.ResultDraft, syncproto.ResultReturned:
		out.SectionVersion, out.Findings, out.Outcomes = current, findings, outcomes
	default:
		out.SectionVersion = r.SectionVersion
		if err := json.Unmarshal([]byte(r.Findings), &out.Findings); err != nil {
			return nil, fmt.Errorf("result %d findings: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(r.Outcomes), &out.Outcomes); err != nil {
			return nil, fmt.Errorf("result %d outcomes: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(r.Resolutions), &out.Resolutions); err != nil {
		return nil, fmt.Errorf("result %d resolutions: %w", r.ID, err)
	}
	out.SuggestedCode = server.SuggestResultCode(out.Outcomes, out.Findings)
	if r.Code != nil {
		out.Code = *r.Code
		var titles []string
		if err := tx.Raw("SELECT title FROM result_codes WHERE code = ?", *r.Code).Scan(&titles).Error; err != nil {
			return nil, err
		}
		if len(titles) == 1 {
			out.CodeTitle = titles[0]
		}
	}
	for _, f := range rc.joint.Flags {
		if f.Department == "" || f.Department == rc.dept.Code {
			out.Flags = append(out.Flags, f)
		}
	}
	if out.SectionVersion < current {
		out.Flags = append(out.Flags, syncproto.RecordFlag{Code: syncproto.FlagBasedOnOlderVersion, Department: rc.dept.Code,
			Message: fmt.Sprintf("该结果依据%s部分第%d版录入，现已更正为第%d版 (entered from the %s section's version %d; version %d has replaced it).",
				rc.dept.Code, out.SectionVersion, current, rc.dept.Code, out.SectionVersion, current)})
	}
	if day, ok := rc.visitDate(); ok {
		out.VisitDate = day.Format(time.DateOnly)
		due, err := s.calendar.AddWorkingDays(day, rc.campaign.EntryDueWorkingDays)
		if err != nil {
			out.DeadlineError = deadlineError(err)
		} else {
			out.EntryDue = &due
		}
	}
	if r.ApprovedAt != nil {
		due, err := s.calendar.AddWorkingDays(r.ApprovedAt.In(sh), rc.campaign.PublicationDueWorkingDays)
		if err != nil {
			out.DeadlineError = deadlineError(err)
		} else {
			out.PublicationDue = &due
		}
	}
	return out, nil
}

func deadlineError(err error) string {
	var missing *calendar.ErrYearNotCovered
	if errors.As(err, &missing) {
		return fmt.Sprintf("工作日历缺少%d年数据，无法计算期限 (%s).", missing.Year, err)
	}
	return err.Error()
}

// FindResults lists the results the caller may see that match f.
func (s *ResultService) FindResults(ctx context.Context, f server.ResultFilter) ([]syncproto.Result, error) {
	actor := server.UserFromContext(ctx)
	out := []syncproto.Result{}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		rows, err := findResultRows(tx, actor, f)
		if err != nil {
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

// FindResultByID returns a result the caller may see.
func (s *ResultService) FindResultByID(ctx context.Context, id int64) (*syncproto.Result, error) {
	var out *syncproto.Result
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := loadVisibleResult(tx, server.UserFromContext(ctx), id)
		if err != nil {
			return err
		}
		out, err = s.view(tx, r)
		return err
	})
	return out, err
}

// transition runs one step of the state machine on result id: the role
// gate, visibility, the machine, then check (authority and body), then the
// write of the row's changed columns and the event.
func (s *ResultService) transition(ctx context.Context, id int64, action server.ResultAction,
	check func(tx *Tx, actor *server.User, r *resultRow, rc *resultContext, view *syncproto.Result) (map[string]any, string, error)) (*syncproto.Result, error) {
	if err := requireRole(ctx, server.RoleDepartmentAdmin, server.RoleInspector); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *syncproto.Result
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		r, err := loadVisibleResult(tx, actor, id)
		if err != nil {
			return err
		}
		to, err := server.NextResultState(r.State, action)
		if err != nil {
			return err
		}
		rc, err := loadResultContext(tx, r)
		if err != nil {
			return err
		}
		view, err := s.viewWith(tx, r, rc)
		if err != nil {
			return err
		}
		set, reason, err := check(tx, actor, r, rc, view)
		if err != nil {
			return err
		}
		set["state"], set["updated_at"] = to, tx.Now
		res := tx.Model(&resultRow{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return server.Errorf(server.ECONFLICT, "结果已被他人处理，请刷新 (the result changed meanwhile; reload it).")
		}
		if err := tx.Create(&resultEventRow{ResultID: r.ID, Action: string(action), FromState: r.State, ToState: to,
			ActorID: actor.ID, Reason: reason, CreatedAt: tx.Now}).Error; err != nil {
			return err
		}
		addAudit(tx, "result."+string(action), "result", r.ID, auditData{
			"campaign_id": r.CampaignID, "department_id": r.DepartmentID, "packet_id": r.PacketID, "from": r.State, "to": to})
		var fresh resultRow // a fresh row: Take leaves a column now NULL as it was in a reused one
		if err := tx.Where("id = ?", r.ID).Take(&fresh).Error; err != nil {
			return err
		}
		out, err = s.viewWith(tx, &fresh, rc)
		return err
	})
	return out, err
}

// EnterResult enters (submits) a draft or returned result: by an inspector of
// the department who was on the team, for themself, or by a department
// admin on behalf of one (entered_by the admin, entered_for the inspector).
// The findings and outcomes of the current sealed version are kept with it.
func (s *ResultService) EnterResult(ctx context.Context, id int64, e server.ResultEntry) (*syncproto.Result, error) {
	return s.transition(ctx, id, server.ResultActionEnter, func(tx *Tx, actor *server.User, r *resultRow, rc *resultContext, _ *syncproto.Result) (map[string]any, string, error) {
		var forID int64
		switch {
		case e.EnteredFor != nil:
			forID = *e.EnteredFor
		case actor.InspectorID != nil:
			forID = *actor.InspectorID
		}
		if err := server.CheckEnterer(server.ResultParty{User: actor, OnTeam: rc.onTeam(actor.InspectorID)}, r.DepartmentID,
			forID, rc.onTeam(&forID)); err != nil {
			return nil, "", err
		}
		if err := e.Validate(); err != nil {
			return nil, "", err
		}
		var n int64
		if err := tx.Model(&resultCodeRow{}).Where("code = ?", e.Code).Count(&n).Error; err != nil {
			return nil, "", err
		}
		if n == 0 {
			return nil, "", server.Errorf(server.EINVALID, "结果代码%q不在目录中 (result code %q is not in the catalogue).", e.Code, e.Code)
		}
		version, findings, outcomes := rc.live()
		fb, err := json.Marshal(findings)
		if err != nil {
			return nil, "", err
		}
		ob, err := json.Marshal(outcomes)
		if err != nil {
			return nil, "", err
		}
		return map[string]any{
			"code": e.Code, "summary": strings.TrimSpace(e.Summary), "section_version": version,
			"findings": string(fb), "outcomes": string(ob),
			"entered_by": actor.ID, "entered_for": forID, "entered_at": tx.Now, "resolutions": "[]",
		}, "", nil
	})
}

// ReturnResult returns an entered result to the enterer with a reason.
func (s *ResultService) ReturnResult(ctx context.Context, id int64, reason string) (*syncproto.Result, error) {
	return s.transition(ctx, id, server.ResultActionReturn, func(tx *Tx, actor *server.User, r *resultRow, rc *resultContext, v *syncproto.Result) (map[string]any, string, error) {
		if err := server.CheckReviewer(server.ResultParty{User: actor, OnTeam: rc.onTeam(actor.InspectorID)}, v); err != nil {
			return nil, "", err
		}
		reason = strings.TrimSpace(reason)
		if reason == "" || utf8.RuneCountInString(reason) > 1000 || !utf8.ValidString(reason) {
			return nil, "", server.Errorf(server.EINVALID, "退回须说明理由（1-1000字） (a return needs a reason of 1-1000 characters).")
		}
		return map[string]any{"return_reason": reason, "reviewed_by": actor.ID, "reviewed_at": tx.Now}, reason, nil
	})
}

// ApproveResult approves an entered result. The reviewer must resolve, with
// a reason, each flag server.ResolutionsRequired names; a result entered
// from a version a correction has replaced cannot be approved (return it).
func (s *ResultService) ApproveResult(ctx context.Context, id int64, res []syncproto.ResultResolution) (*syncproto.Result, error) {
	return s.transition(ctx, id, server.ResultActionApprove, func(tx *Tx, actor *server.User, r *resultRow, rc *resultContext, v *syncproto.Result) (map[string]any, string, error) {
		if err := server.CheckReviewer(server.ResultParty{User: actor, OnTeam: rc.onTeam(actor.InspectorID)}, v); err != nil {
			return nil, "", err
		}
		if v.SectionVersion < v.CurrentSectionVersion {
			return nil, "", server.Errorf(server.ECONFLICT, "该结果依据的第%d版已被第%d版更正，请退回重新录入 (the result rests on version %d, since corrected by version %d: return it for entry again).",
				v.SectionVersion, v.CurrentSectionVersion, v.SectionVersion, v.CurrentSectionVersion)
		}
		if res == nil {
			res = []syncproto.ResultResolution{}
		}
		for i := range res {
			res[i].Reason = strings.TrimSpace(res[i].Reason)
		}
		if err := server.CheckResolutions(v, res); err != nil {
			return nil, "", err
		}
		rb, err := json.Marshal(res)
		if err != nil {
			return nil, "", err
		}
		// Follow-up and the abnormal operations flag (followup.go), in the approval's transaction.
		if err := openFollowUps(tx, s.calendar, r, v); err != nil {
			return nil, "", err
		}
		return map[string]any{"resolutions": string(rb), "reviewed_by": actor.ID, "reviewed_at": tx.Now, "approved_at": tx.Now}, "", nil
	})
}

// ReopenResult takes an approved result back for correction: its
// department's admin, with a reason; it is returned to the enterer, and
// no longer counts as published (the new version is due for publication,
// as a correction if the old one was published).
func (s *ResultService) ReopenResult(ctx context.Context, id int64, reason string) (*syncproto.Result, error) {
	return s.transition(ctx, id, server.ResultActionReopen, func(tx *Tx, actor *server.User, r *resultRow, rc *resultContext, v *syncproto.Result) (map[string]any, string, error) {
		if actor.Role != server.RoleDepartmentAdmin || !actor.InDepartment(r.DepartmentID) {
			return nil, "", server.Errorf(server.EFORBIDDEN, "只有本部门管理员可以重新打开已复核通过的结果 (only the department's admin may reopen an approved result).")
		}
		reason = strings.TrimSpace(reason)
		if reason == "" || utf8.RuneCountInString(reason) > 1000 || !utf8.ValidString(reason) {
			return nil, "", server.Errorf(server.EINVALID, "重新打开须说明理由（1-1000字） (reopening needs a reason of 1-1000 characters).")
		}
		return map[string]any{"return_reason": reason, "reviewed_by": actor.ID, "reviewed_at": tx.Now, "published_at": nil}, reason, nil
	})
}

// FindOverdue lists, on the working-day calendar, the results not approved
// by their entry deadline (entry and review both fall within it) and the
// approved results not published by their publication deadline. Department
// admins see their department's, lead coordinators their campaigns' (and
// their department's), platform admins all.
func (s *ResultService) FindOverdue(ctx context.Context, campaignID *int64) (*server.OverdueResults, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	out := &server.OverdueResults{EntryOverdue: []server.OverdueResult{}, PublicationOverdue: []server.OverdueResult{}, Uncounted: []syncproto.Result{}}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		now := tx.Now.In(calendar.Shanghai())
		out.Now = now
		rows, err := findResultRows(tx, actor, server.ResultFilter{CampaignID: campaignID},
			syncproto.ResultDraft, syncproto.ResultReturned, syncproto.ResultEntered, syncproto.ResultApproved)
		if err != nil {
			return err
		}
		for i := range rows {
			r := &rows[i]
			if r.State == syncproto.ResultApproved && r.PublishedAt != nil {
				continue
			}
			v, err := s.view(tx, r)
			if err != nil {
				return err
			}
			switch {
			case v.DeadlineError != "":
				out.Uncounted = append(out.Uncounted, *v)
			case r.State == syncproto.ResultApproved:
				if v.PublicationDue != nil && now.After(*v.PublicationDue) {
					out.PublicationOverdue = append(out.PublicationOverdue, server.OverdueResult{Result: *v, Due: *v.PublicationDue})
				}
			default:
				if v.EntryDue != nil && now.After(*v.EntryDue) {
					out.EntryOverdue = append(out.EntryOverdue, server.OverdueResult{Result: *v, Due: *v.EntryDue})
				}
			}
		}
		return nil
	})
	return out, err
}

// FindApproved lists a campaign's approved results the caller may see: what
// publication publishes.
func (s *ResultService) FindApproved(ctx context.Context, campaignID int64) ([]syncproto.Result, error) {
	st := syncproto.ResultApproved
	return s.FindResults(ctx, server.ResultFilter{CampaignID: &campaignID, State: &st})
}

// FindEnterpriseInspections returns an enterprise's record: its approved
// results across campaigns and departments, oldest first, to staff.
func (s *ResultService) FindEnterpriseInspections(ctx context.Context, enterpriseID int64) ([]server.EnterpriseInspection, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	out := []server.EnterpriseInspection{}
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		var n int64
		if err := tx.Table("enterprises").Where("id = ?", enterpriseID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return notFound(objEnterprise)
		}
		var rows []resultRow
		if err := tx.Where("enterprise_id = ? AND state = ?", enterpriseID, syncproto.ResultApproved).Order("approved_at, id").Find(&rows).Error; err != nil {
			return err
		}
		for i := range rows {
			r := &rows[i]
			rc, err := loadResultContext(tx, r)
			if err != nil {
				return err
			}
			v, err := s.viewWith(tx, r, rc)
			if err != nil {
				return err
			}
			out = append(out, server.EnterpriseInspection{
				ResultID: r.ID, CampaignID: r.CampaignID, CampaignName: v.CampaignName, DepartmentID: r.DepartmentID,
				Department: rc.dept.Code, DepartmentName: rc.dept.Name, VisitDate: v.VisitDate, Code: v.Code, CodeTitle: v.CodeTitle,
				ApprovedAt: *v.ApprovedAt, PublishedAt: v.PublishedAt, FollowUp: v.FollowUp,
			})
			if out[len(out)-1].AbnormalOperationsCandidate, err = abnormalFlagged(tx, r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// FindResultDeadlines returns a campaign's result deadlines to staff who may see it.
func (s *ResultService) FindResultDeadlines(ctx context.Context, campaignID int64) (*server.ResultDeadlines, error) {
	actor := server.UserFromContext(ctx)
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	var out *server.ResultDeadlines
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadFieldworkCampaign(tx, campaignID)
		if err != nil {
			return err
		}
		if !canSeeCampaign(actor, c) {
			return notFound(objCampaign)
		}
		out, err = readDeadlines(tx, campaignID)
		return err
	})
	return out, err
}

func readDeadlines(tx *Tx, campaignID int64) (*server.ResultDeadlines, error) {
	var d server.ResultDeadlines
	if err := tx.Raw("SELECT id AS campaign_id, entry_due_working_days AS entry_working_days, publication_due_working_days AS publication_working_days, followup_due_working_days AS follow_up_working_days FROM campaigns WHERE id = ?",
		campaignID).Scan(&d).Error; err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateResultDeadlines sets a campaign's result deadlines: its lead
// coordinator or a platform admin, at any stage (a deadline is read when
// it is counted).
func (s *ResultService) UpdateResultDeadlines(ctx context.Context, d server.ResultDeadlines) (*server.ResultDeadlines, error) {
	if err := requireRole(ctx, server.RolePlatformAdmin, server.RoleLeadCoordinator); err != nil {
		return nil, err
	}
	actor := server.UserFromContext(ctx)
	var out *server.ResultDeadlines
	err := s.db.WithTx(ctx, func(tx *Tx) error {
		c, err := loadFieldworkCampaign(tx, d.CampaignID)
		if err != nil {
			return err
		}
		if !canSeeCampaign(actor, c) {
			return notFound(objCampaign)
		}
		if actor.Role != server.RolePlatformAdmin && !c.isLead(actor) {
			return server.Errorf(server.EFORBIDDEN, "只有牵头部门协调人可以设置期限 (only the lead department's coordinator may set the deadlines).")
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := tx.Exec("UPDATE campaigns SET entry_due_working_days = ?, publication_due_working_days = ?, followup_due_working_days = ?, updated_at = ? WHERE id = ?",
			d.EntryWorkingDays, d.PublicationWorkingDays, d.FollowUpWorkingDays, tx.Now, d.CampaignID).Error; err != nil {
			return err
		}
		out, err = readDeadlines(tx, d.CampaignID)
		return err
	})
	return out, err
}
