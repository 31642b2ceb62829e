package server

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Follow-up after the visit (workflow step 12, 谁管辖、谁负责): an approved
// result whose code means problems were found opens one task for each
// department with jurisdiction over its findings. A department's result
// covers the items of its own section of the joint record, so the
// department with jurisdiction over a finding is the department whose
// section the item was checked in: market regulation's items go to market
// regulation. Its admin assigns the task to one of its users; the assignee
// works it, logging actions with evidence, and asks for closure; a second
// person of the department (an admin, neither the assignee nor the one who
// asked) closes it or refuses the closure, which sends it back.

// Follow-up states.
const (
	FollowUpStateOpen             = "open"
	FollowUpStateInProgress       = "in_progress"
	FollowUpStateClosureRequested = "closure_requested"
	FollowUpStateClosed           = "closed"
)

// FollowUpStates lists every state, for tests that try them all.
var FollowUpStates = []string{FollowUpStateOpen, FollowUpStateInProgress, FollowUpStateClosureRequested, FollowUpStateClosed}

// FollowUpAction is a step of the follow-up state machine.
type FollowUpAction string

const (
	FollowUpActionAssign         FollowUpAction = "assign"          // set or change the assignee; state unchanged
	FollowUpActionStart          FollowUpAction = "start"           // open → in_progress
	FollowUpActionNote           FollowUpAction = "note"            // a log entry with evidence; state unchanged
	FollowUpActionRequestClosure FollowUpAction = "request_closure" // in_progress → closure_requested
	FollowUpActionRefuse         FollowUpAction = "refuse"          // closure_requested → in_progress, with a reason
	FollowUpActionClose          FollowUpAction = "close"           // closure_requested → closed
)

// FollowUpActions lists every action, for tests that try them all.
var FollowUpActions = []FollowUpAction{FollowUpActionAssign, FollowUpActionStart, FollowUpActionNote,
	FollowUpActionRequestClosure, FollowUpActionRefuse, FollowUpActionClose}

// followUpTransitions is the follow-up state machine: from a state, the
// actions allowed and where they lead. Nothing else is allowed; closed is final.
var followUpTransitions = map[string]map[FollowUpAction]string{
	FollowUpStateOpen: {
		FollowUpActionAssign: FollowUpStateOpen, FollowUpActionStart: FollowUpStateInProgress, FollowUpActionNote: FollowUpStateOpen,
	},
	FollowUpStateInProgress: {
		FollowUpActionAssign: FollowUpStateInProgress, FollowUpActionNote: FollowUpStateInProgress,
		FollowUpActionRequestClosure: FollowUpStateClosureRequested,
	},
	FollowUpStateClosureRequested: {
		FollowUpActionNote: FollowUpStateClosureRequested, FollowUpActionRefuse: FollowUpStateInProgress,
		FollowUpActionClose: FollowUpStateClosed,
	},
	FollowUpStateClosed: {},
}

var followUpStateZH = map[string]string{
	FollowUpStateOpen: "待处理", FollowUpStateInProgress: "处理中", FollowUpStateClosureRequested: "待确认办结", FollowUpStateClosed: "已办结",
}

var followUpActionZH = map[FollowUpAction]string{
	FollowUpActionAssign: "指派", FollowUpActionStart: "开始处理", FollowUpActionNote: "记录处理情况",
	FollowUpActionRequestClosure: "申请办结", FollowUpActionRefuse: "退回办结申请", FollowUpActionClose: "办结",
}

// NextFollowUpState returns the state action leads to from state, or
// ECONFLICT when the machine has no such transition.
func NextFollowUpState(state string, action FollowUpAction) (string, error) {
	if to, ok := followUpTransitions[state][action]; ok {
		return to, nil
	}
	return "", Errorf(ECONFLICT, "后续处理任务当前状态为%s，不能%s (a follow-up in state %s does not allow %s).",
		followUpStateZH[state], followUpActionZH[action], state, action)
}

// FollowUp is one follow-up task.
type FollowUp struct {
	ID             int64                     `json:"id"`
	ResultID       int64                     `json:"result_id"`
	CampaignID     int64                     `json:"campaign_id"`
	EnterpriseID   int64                     `json:"enterprise_id"`
	CreditCode     string                    `json:"credit_code"`
	EnterpriseName string                    `json:"enterprise_name"`
	DepartmentID   int64                     `json:"department_id"`
	Department     string                    `json:"department"`
	ResultCode     string                    `json:"result_code"`
	State          string                    `json:"state"`
	Findings       []syncproto.ResultFinding `json:"findings"`
	AssigneeID     *int64                    `json:"assignee_id"`
	// DueAt is the end of the due date's last working day, +08:00; nil
	// with DeadlineError when the calendar cannot count it.
	DueAt              *time.Time       `json:"due_at"`
	DeadlineError      string           `json:"deadline_error,omitempty"`
	Overdue            bool             `json:"overdue"`
	ClosureRequestedBy *int64           `json:"closure_requested_by"`
	ClosureRequestedAt *time.Time       `json:"closure_requested_at"`
	ClosedBy           *int64           `json:"closed_by"`
	ClosedAt           *time.Time       `json:"closed_at"`
	Actions            []FollowUpRecord `json:"actions"`
	CreatedAt          time.Time        `json:"created_at"`
	UpdatedAt          time.Time        `json:"updated_at"`
}

// FollowUpRecord is one entry of a task's append-only log.
type FollowUpRecord struct {
	ID        int64          `json:"id"`
	Kind      FollowUpAction `json:"kind"`
	FromState string         `json:"from_state"`
	ToState   string         `json:"to_state"`
	ActorID   int64          `json:"actor_id"`
	Text      string         `json:"text"`
	Evidence  []string       `json:"evidence"` // SHA-256 of blobs uploaded for the task
	CreatedAt time.Time      `json:"created_at"`
}

// MaxFollowUpEvidence bounds the evidence one entry names.
const MaxFollowUpEvidence = 20

// FollowUpEntry is the body of a log entry: a note, a closure request, a
// refusal's reason or a closing remark.
type FollowUpEntry struct {
	Text     string   `json:"text"`
	Evidence []string `json:"evidence"`
}

// Validate checks the entry's shape; needText: the action requires text.
func (e *FollowUpEntry) Validate(needText bool) error {
	e.Text = strings.TrimSpace(e.Text)
	switch {
	case needText && e.Text == "":
		return Errorf(EINVALID, "须填写说明 (text is required).")
	case utf8.RuneCountInString(e.Text) > 2000 || !utf8.ValidString(e.Text):
		return Errorf(EINVALID, "说明不超过2000字 (text is at most 2000 characters).")
	case len(e.Evidence) > MaxFollowUpEvidence:
		return Errorf(EINVALID, "每条记录最多%d个附件 (at most %d attachments per entry).", MaxFollowUpEvidence, MaxFollowUpEvidence)
	}
	for _, h := range e.Evidence {
		if !syncproto.ValidSHA256(h) {
			return Errorf(EINVALID, "附件哈希格式无效 (an evidence sha256 is malformed).")
		}
	}
	return nil
}

// CheckFollowUpActor returns nil if actor may take action on f:
//
//   - assign: an admin of f's department;
//   - start, note, request_closure: the assignee, or an admin of f's department;
//   - refuse, close: an admin of f's department who is neither the assignee
//     nor the one who asked for closure (closure by a second person).
//
// Platform admins and coordinators see tasks but do not work them.
func CheckFollowUpActor(action FollowUpAction, actor *User, f *FollowUp) error {
	admin := actor.Role == RoleDepartmentAdmin && actor.InDepartment(f.DepartmentID)
	assignee := f.AssigneeID != nil && *f.AssigneeID == actor.ID && actor.InDepartment(f.DepartmentID)
	switch action {
	case FollowUpActionAssign:
		if !admin {
			return Errorf(EFORBIDDEN, "只有本部门管理员可以指派后续处理任务 (only the department's admin assigns a follow-up).")
		}
	case FollowUpActionStart, FollowUpActionNote, FollowUpActionRequestClosure:
		if !admin && !assignee {
			return Errorf(EFORBIDDEN, "只有承办人或本部门管理员可以办理 (only the assignee or the department's admin works a follow-up).")
		}
	case FollowUpActionRefuse, FollowUpActionClose:
		if !admin {
			return Errorf(EFORBIDDEN, "只有本部门管理员可以确认办结 (only the department's admin closes a follow-up).")
		}
		if (f.AssigneeID != nil && *f.AssigneeID == actor.ID) || (f.ClosureRequestedBy != nil && *f.ClosureRequestedBy == actor.ID) {
			return Errorf(EFORBIDDEN, "承办人或申请办结的人不能确认办结，须由另一人确认 (the assignee or the one who asked for closure may not close it: a second person does).")
		}
	default:
		return Errorf(EINVALID, "未知操作%q (unknown action %q).", action, action)
	}
	return nil
}

// CheckFollowUpAssignee returns nil if u may be assigned a task of
// department deptID: an active inspector or admin of that department.
func CheckFollowUpAssignee(u *User, deptID int64) error {
	if u == nil || u.Disabled || !u.InDepartment(deptID) || (u.Role != RoleInspector && u.Role != RoleDepartmentAdmin) {
		return Errorf(EINVALID, "承办人须为本部门在用的执法人员或管理员 (the assignee must be an active inspector or admin of the department).")
	}
	return nil
}

// FollowUpState sums up the tasks of a result: none, open (one not closed)
// or closed (all closed).
func FollowUpState(states []string) string {
	if len(states) == 0 {
		return syncproto.FollowUpNone
	}
	for _, s := range states {
		if s != FollowUpStateClosed {
			return syncproto.FollowUpOpen
		}
	}
	return syncproto.FollowUpClosed
}

// DefaultFollowUpWorkingDays is a campaign's follow-up deadline unless set:
// working days after the result's approval.
const DefaultFollowUpWorkingDays = 15

// FollowUpFilter selects tasks; nil fields match everything the caller may see.
type FollowUpFilter struct {
	CampaignID *int64
	State      *string
	// Overdue: only tasks not closed whose due date has passed.
	Overdue bool
}

// AbnormalCandidate is an enterprise flagged for the abnormal operations
// list review (经营异常名录): an approved result found it could not be
// reached at its registered address.
type AbnormalCandidate struct {
	EnterpriseID   int64     `json:"enterprise_id"`
	CreditCode     string    `json:"credit_code"`
	EnterpriseName string    `json:"enterprise_name"`
	ResultID       int64     `json:"result_id"`
	CampaignID     int64     `json:"campaign_id"`
	DepartmentID   int64     `json:"department_id"`
	Department     string    `json:"department"`
	ResultCode     string    `json:"result_code"`
	Reason         string    `json:"reason"` // result_code or close_outcome
	FlaggedAt      time.Time `json:"flagged_at"`
}

// FollowUpService runs follow-up tasks. Implementations scope every call to
// the user in ctx: department admins see their department's tasks, lead
// coordinators those of their department and of the campaigns they lead,
// inspectors the tasks assigned to them, platform admins all.
type FollowUpService interface {
	FindFollowUps(ctx context.Context, f FollowUpFilter) ([]FollowUp, error)
	FindFollowUpByID(ctx context.Context, id int64) (*FollowUp, error)
	AssignFollowUp(ctx context.Context, id, assigneeID int64) (*FollowUp, error)
	// ActOnFollowUp takes one of start, note, request_closure, refuse, close.
	ActOnFollowUp(ctx context.Context, id int64, action FollowUpAction, e FollowUpEntry) (*FollowUp, error)
	// AddEvidence records blob b (already stored) as evidence of task id.
	AddEvidence(ctx context.Context, id int64, sha256 string) error
	// CanWork returns nil if the caller may add entries to task id (before
	// an upload is stored).
	CanWork(ctx context.Context, id int64) error
	// OpenEvidence returns evidence sha256 of task id to a caller who may see the task.
	OpenEvidence(ctx context.Context, id int64, sha256 string) (*Blob, io.ReadSeekCloser, error)
	FindAbnormalCandidates(ctx context.Context) ([]AbnormalCandidate, error)
}
