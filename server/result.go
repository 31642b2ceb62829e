package server

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Results after the visit (workflow step 10): one per department section of
// a packet, drafted once the section is sealed, entered by one person and
// reviewed by another of the same department.

// Result codes of the shipped catalogue (the publication's 检查结果). Codes
// are stable ASCII ids: append only, never renamed or removed.
const (
	ResultCodeNoProblem          = "no_problem"           // 未发现问题 (正常)
	ResultCodeNotDisclosed       = "not_disclosed"        // 未按规定公示应当公示的信息
	ResultCodeFalseDisclosure    = "false_disclosure"     // 公示信息隐瞒真实情况、弄虚作假
	ResultCodeNotLocatable       = "not_locatable"        // 通过登记的住所（经营场所）无法联系
	ResultCodeCorrected          = "problem_corrected"    // 发现问题已责令改正
	ResultCodePendingFollowUp    = "problem_pending"      // 发现问题待后续处理
	ResultCodeObstruction        = "obstruction"          // 不配合检查情节严重
	ResultCodeNoRelevantActivity = "no_relevant_activity" // 未发现开展本次抽查涉及的经营活动
)

// ResultCode is one entry of the result catalogue.
type ResultCode struct {
	Code  string `json:"code"`
	Title string `json:"title"`
	// ProblemsFound: a result with this code opens a follow-up.
	ProblemsFound bool `json:"problems_found"`
	// NotLocatable: the enterprise could not be reached at its registered
	// address (flagged for the abnormal operations list review).
	NotLocatable bool      `json:"not_locatable"`
	Position     int       `json:"position"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Validate checks a new code: a stable ASCII id and a title.
func (c *ResultCode) Validate() error {
	if c.Code == "" || len(c.Code) > 40 {
		return Errorf(EINVALID, "结果代码须为1-40个小写字母、数字或下划线 (a result code is 1-40 lowercase letters, digits or _).")
	}
	for _, r := range c.Code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return Errorf(EINVALID, "结果代码须为1-40个小写字母、数字或下划线 (a result code is 1-40 lowercase letters, digits or _).")
		}
	}
	return validateResultTitle(c.Title)
}

func validateResultTitle(title string) error {
	if strings.TrimSpace(title) == "" || utf8.RuneCountInString(title) > 100 || !utf8.ValidString(title) {
		return Errorf(EINVALID, "结果名称须为1-100个字符 (a result title is 1-100 characters).")
	}
	return nil
}

// ValidateResultTitle checks a title given to an existing code.
func ValidateResultTitle(title string) error { return validateResultTitle(title) }

// ResultAction is a step of the result state machine.
type ResultAction string

const (
	ResultActionEnter   ResultAction = "enter"   // draft or returned → entered
	ResultActionReturn  ResultAction = "return"  // entered → returned, with a reason
	ResultActionApprove ResultAction = "approve" // entered → approved
	// ResultActionReopen takes an approved result back for correction, with
	// a reason (a department admin): re-entered and approved again, a result
	// already published is re-published as a correction.
	ResultActionReopen ResultAction = "reopen" // approved → returned
)

// ResultActions lists every action, for tests that try them all.
var ResultActions = []ResultAction{ResultActionEnter, ResultActionReturn, ResultActionApprove, ResultActionReopen}

// ResultStates lists every state, for tests that try them all.
var ResultStates = []string{syncproto.ResultDraft, syncproto.ResultEntered, syncproto.ResultReturned, syncproto.ResultApproved}

// resultTransitions is the result state machine: from a state, the actions
// allowed and where they lead. Nothing else is allowed; an approved result
// changes only by being reopened for correction.
var resultTransitions = map[string]map[ResultAction]string{
	syncproto.ResultDraft:    {ResultActionEnter: syncproto.ResultEntered},
	syncproto.ResultReturned: {ResultActionEnter: syncproto.ResultEntered},
	syncproto.ResultEntered:  {ResultActionReturn: syncproto.ResultReturned, ResultActionApprove: syncproto.ResultApproved},
	syncproto.ResultApproved: {ResultActionReopen: syncproto.ResultReturned},
}

// NextResultState returns the state action leads to from state, or
// ECONFLICT when the machine has no such transition.
func NextResultState(state string, action ResultAction) (string, error) {
	if to, ok := resultTransitions[state][action]; ok {
		return to, nil
	}
	return "", Errorf(ECONFLICT, "结果当前状态为%s，不能执行%s (a result in state %s cannot be %s).",
		resultStateZH[state], resultActionZH[action], state, map[ResultAction]string{
			ResultActionEnter: "entered", ResultActionReturn: "returned", ResultActionApprove: "approved", ResultActionReopen: "reopened"}[action])
}

var resultStateZH = map[string]string{
	syncproto.ResultDraft: "待录入", syncproto.ResultEntered: "待复核", syncproto.ResultReturned: "已退回", syncproto.ResultApproved: "已复核通过",
}

var resultActionZH = map[ResultAction]string{ResultActionEnter: "录入", ResultActionReturn: "退回", ResultActionApprove: "复核通过", ResultActionReopen: "重新打开更正"}

// ResultParty is what the rules need to know about who acts on a result.
type ResultParty struct {
	User *User
	// OnTeam: the user is an inspector on the packet's team.
	OnTeam bool
}

// CheckEnterer returns nil if actor may enter the result of department
// deptID for the inspector enteredFor (who must be of the department and on
// the team: forTeam): an inspector of the department on the team enters for
// themself; a department admin of the department enters on behalf of one.
// Platform admins and coordinators do not enter results.
func CheckEnterer(actor ResultParty, deptID int64, enteredFor int64, forOnTeam bool) error {
	u := actor.User
	switch {
	case u.Role == RoleInspector && u.InDepartment(deptID) && actor.OnTeam:
		if u.InspectorID == nil || *u.InspectorID != enteredFor {
			return Errorf(EFORBIDDEN, "执法人员只能录入本人参与的检查结果 (an inspector enters results only for themself).")
		}
		return nil
	case u.Role == RoleDepartmentAdmin && u.InDepartment(deptID):
		if !forOnTeam {
			return Errorf(EINVALID, "代为录入须指明本部门参加该次检查的执法人员 (entered_for must name an inspector of the department who was on the team).")
		}
		return nil
	}
	return Errorf(EFORBIDDEN, "只有参加检查的本部门执法人员或本部门管理员可以录入结果 (only the department's inspectors who were on the team, or its admin on their behalf, may enter the result).")
}

// CheckReviewer returns nil if actor may review r: a department admin of
// r's department, or an inspector of the department who was on the team,
// never the one who entered it nor the one it was entered for (一人录入、一人复核).
func CheckReviewer(actor ResultParty, r *syncproto.Result) error {
	u := actor.User
	if !u.InDepartment(r.DepartmentID) || !(u.Role == RoleDepartmentAdmin || u.Role == RoleInspector && actor.OnTeam) {
		return Errorf(EFORBIDDEN, "只有本部门管理员或参加检查的本部门执法人员可以复核 (only the department's admin or its inspectors on the team may review).")
	}
	if (r.EnteredBy != nil && *r.EnteredBy == u.ID) || (r.EnteredFor != nil && u.InspectorID != nil && *r.EnteredFor == *u.InspectorID) {
		return Errorf(EFORBIDDEN, "录入人不能复核自己录入的结果，须由另一人复核 (the person who entered a result, or for whom it was entered, may not review it).")
	}
	return nil
}

// ResolutionsRequired returns the flags of r a reviewer must resolve, with a
// reason, before approving: two closes, no close, and a section of r's
// department that no close covers or that a close names but the server
// does not hold.
func ResolutionsRequired(r *syncproto.Result) []syncproto.RecordFlag {
	var out []syncproto.RecordFlag
	for _, f := range r.Flags {
		switch f.Code {
		case syncproto.FlagSeveralCloses, syncproto.FlagNoClose:
			out = append(out, f)
		case syncproto.FlagSectionNotCovered, syncproto.FlagCloseCoversUnknown:
			if f.Department == r.Department {
				out = append(out, f)
			}
		}
	}
	return out
}

// CheckResolutions returns EINVALID unless every flag ResolutionsRequired
// names is resolved, with a reason, by one of res, and res resolves nothing else.
func CheckResolutions(r *syncproto.Result, res []syncproto.ResultResolution) error {
	need := ResolutionsRequired(r)
	for _, x := range res {
		if strings.TrimSpace(x.Reason) == "" || utf8.RuneCountInString(x.Reason) > 1000 || !utf8.ValidString(x.Reason) {
			return Errorf(EINVALID, "每项处理须说明理由（1-1000字） (each resolution needs a reason of 1-1000 characters).")
		}
		found := false
		for _, f := range need {
			if f.Code == x.Code && f.Department == x.Department {
				found = true
			}
		}
		if !found {
			return Errorf(EINVALID, "记录中没有待处理的%s%s (the record has no %s %s to resolve).", x.Department, x.Code, x.Department, x.Code)
		}
	}
	for _, f := range need {
		ok := false
		for _, x := range res {
			if f.Code == x.Code && f.Department == x.Department {
				ok = true
			}
		}
		if !ok {
			return Errorf(EINVALID, "复核通过前须处理：%s (resolve %s%s with a reason before approving).", f.Message, f.Code, map[bool]string{true: " of " + f.Department, false: ""}[f.Department != ""])
		}
	}
	return nil
}

// SuggestResultCode suggests a result code from what the visit found: a
// close that could not locate the enterprise, else no non-compliant item,
// else problems to follow up.
func SuggestResultCode(outcomes []string, findings []syncproto.ResultFinding) string {
	for _, o := range outcomes {
		if o == syncproto.OutcomeNotLocatable {
			return ResultCodeNotLocatable
		}
	}
	if len(findings) == 0 {
		return ResultCodeNoProblem
	}
	return ResultCodePendingFollowUp
}

// Deadline defaults (working days), per campaign.
const (
	DefaultEntryWorkingDays       = 3
	DefaultPublicationWorkingDays = 20
)

// ResultDeadlines are a campaign's result deadlines in working days: entry
// after the visit, publication after approval.
type ResultDeadlines struct {
	CampaignID             int64 `json:"campaign_id"`
	EntryWorkingDays       int   `json:"entry_working_days"`
	PublicationWorkingDays int   `json:"publication_working_days"`
	// FollowUpWorkingDays: a follow-up task is due this many working days
	// after the result's approval (DefaultFollowUpWorkingDays).
	FollowUpWorkingDays int `json:"followup_working_days"`
}

// Validate checks every deadline is 1-60 working days.
func (d *ResultDeadlines) Validate() error {
	if d.EntryWorkingDays < 1 || d.EntryWorkingDays > 60 || d.PublicationWorkingDays < 1 || d.PublicationWorkingDays > 60 ||
		d.FollowUpWorkingDays < 1 || d.FollowUpWorkingDays > 60 {
		return Errorf(EINVALID, "期限须为1-60个工作日 (deadlines are 1-60 working days).")
	}
	return nil
}

// ResultEntry is the body of an entry.
type ResultEntry struct {
	Code    string `json:"code"`
	Summary string `json:"summary"`
	// EnteredFor is the inspector a department admin enters for; an
	// inspector leaves it out (or names themself).
	EnteredFor *int64 `json:"entered_for"`
}

// Validate checks the entry's shape.
func (e *ResultEntry) Validate() error {
	switch {
	case e.Code == "":
		return Errorf(EINVALID, "须选择结果代码 (code is required).")
	case utf8.RuneCountInString(e.Summary) > 2000 || !utf8.ValidString(e.Summary):
		return Errorf(EINVALID, "说明不超过2000字 (summary is at most 2000 characters).")
	case e.EnteredFor != nil && *e.EnteredFor <= 0:
		return Errorf(EINVALID, "entered_for须为正整数 (entered_for must be a positive integer).")
	}
	return nil
}

// ResultFilter selects results; nil fields match everything the caller may see.
type ResultFilter struct {
	CampaignID *int64
	PacketID   *string
	State      *string
}

// OverdueResult is a result past a deadline.
type OverdueResult struct {
	Result syncproto.Result `json:"result"`
	Due    time.Time        `json:"due"` // +08:00
}

// OverdueResults are the results past their entry or publication deadline.
type OverdueResults struct {
	Now                time.Time       `json:"now"` // +08:00
	EntryOverdue       []OverdueResult `json:"entry_overdue"`
	PublicationOverdue []OverdueResult `json:"publication_overdue"`
	// Uncounted are results whose deadline the calendar cannot count (a
	// year it has no data for).
	Uncounted []syncproto.Result `json:"uncounted"`
}

// EnterpriseInspection is one approved result in an enterprise's record
// (归集到市场主体名下).
type EnterpriseInspection struct {
	ResultID       int64      `json:"result_id"`
	CampaignID     int64      `json:"campaign_id"`
	CampaignName   string     `json:"campaign_name"`
	DepartmentID   int64      `json:"department_id"`
	Department     string     `json:"department"`
	DepartmentName string     `json:"department_name"`
	VisitDate      string     `json:"visit_date"`
	Code           string     `json:"code"`
	CodeTitle      string     `json:"code_title"`
	ApprovedAt     time.Time  `json:"approved_at"` // +08:00
	PublishedAt    *time.Time `json:"published_at,omitempty"`
	FollowUp       string     `json:"follow_up"` // none, open or closed
	// AbnormalOperationsCandidate: this result found the enterprise not
	// locatable at its registered address, flagged for the abnormal
	// operations list review.
	AbnormalOperationsCandidate bool `json:"abnormal_operations_candidate"`
}

// ResultService runs entry and review. Implementations scope every call to
// the user in ctx: inspectors see their department's results on packets
// whose team held them, department admins their department's, lead
// coordinators and admins those of campaigns their department takes part
// in, platform admins all.
type ResultService interface {
	FindResultCodes(ctx context.Context) ([]*ResultCode, error)
	// CreateResultCode adds a code (platform admins); ECONFLICT if it exists.
	CreateResultCode(ctx context.Context, c *ResultCode) error
	// UpdateResultCodeTitle retitles a code (platform admins); codes are never renamed or removed.
	UpdateResultCodeTitle(ctx context.Context, code, title string) (*ResultCode, error)

	FindResults(ctx context.Context, f ResultFilter) ([]syncproto.Result, error)
	FindResultByID(ctx context.Context, id int64) (*syncproto.Result, error)
	EnterResult(ctx context.Context, id int64, e ResultEntry) (*syncproto.Result, error)
	ReturnResult(ctx context.Context, id int64, reason string) (*syncproto.Result, error)
	ApproveResult(ctx context.Context, id int64, res []syncproto.ResultResolution) (*syncproto.Result, error)

	// FindOverdue lists entry and publication overdue for department admins
	// (their department) and lead coordinators (their campaigns).
	FindOverdue(ctx context.Context, campaignID *int64) (*OverdueResults, error)
	// FindApproved lists a campaign's approved results, for publication.
	FindApproved(ctx context.Context, campaignID int64) ([]syncproto.Result, error)
	FindEnterpriseInspections(ctx context.Context, enterpriseID int64) ([]EnterpriseInspection, error)

	// ReopenResult takes an approved result back for correction (its
	// department's admin), with a reason: it is returned to the enterer.
	ReopenResult(ctx context.Context, id int64, reason string) (*syncproto.Result, error)

	PublicationService

	FindResultDeadlines(ctx context.Context, campaignID int64) (*ResultDeadlines, error)
	UpdateResultDeadlines(ctx context.Context, d ResultDeadlines) (*ResultDeadlines, error)
}
