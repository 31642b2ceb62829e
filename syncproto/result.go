package syncproto

import "time"

// After the visit (谁抽查、谁录入；一人录入、一人复核): each department's
// result for a packet is drafted from its sealed section, entered by one of
// its inspectors who was on the team (or by a department admin on their
// behalf) and reviewed by a different person of the department. The sealed
// field record is never edited by entry.

// PathResults lists the caller's results; an inspector sees those of their
// department on packets whose team held them, with a returned one's reason.
const PathResults = "/v1/results"

// Result states. Append only.
const (
	ResultDraft    = "draft"    // drafted from the sealed section, not entered yet
	ResultEntered  = "entered"  // entered (submitted), waiting for review
	ResultReturned = "returned" // returned by the reviewer with a reason: enter again
	ResultApproved = "approved" // approved by the reviewer
)

// Result flag codes, beside the joint record's (RecordFlag). Append only.
const (
	// FlagBasedOnOlderVersion: the result was entered from a section version
	// a correction has since replaced.
	FlagBasedOnOlderVersion = "based_on_older_version"
)

// FollowUpNone is a result's follow-up state while no follow-up is open.
const FollowUpNone = "none"

// ResultFinding is one non-compliant item of a sealed section, as found.
type ResultFinding struct {
	ItemCode    string   `json:"item_code"`
	ItemVersion int      `json:"item_version"`
	Title       string   `json:"title"`
	Note        string   `json:"note,omitempty"`
	Photos      []string `json:"photos"` // SHA-256 of each photo
}

// ResultResolution is how the reviewer resolved one flag of the joint record
// (two closes, a section no close covers, no close) before approving.
type ResultResolution struct {
	Code       string `json:"code"` // a RecordFlag code
	Department string `json:"department,omitempty"`
	Reason     string `json:"reason"`
}

// Result is one department's result for one packet (一企一表), as its
// readers see it. Times are in +08:00.
type Result struct {
	ID             int64  `json:"id"`
	PacketID       string `json:"packet_id"`
	CampaignID     int64  `json:"campaign_id"`
	CampaignName   string `json:"campaign_name"`
	EnterpriseID   int64  `json:"enterprise_id"`
	CreditCode     string `json:"credit_code"`
	EnterpriseName string `json:"enterprise_name"`
	DepartmentID   int64  `json:"department_id"`
	Department     string `json:"department"` // code
	State          string `json:"state"`

	// SectionVersion is the sealed version the result rests on: for a draft
	// or a returned result the current one; for an entered or approved result
	// the one it was entered from. CurrentSectionVersion is the latest sealed.
	SectionVersion        int             `json:"section_version"`
	CurrentSectionVersion int             `json:"current_section_version"`
	Findings              []ResultFinding `json:"findings"`
	Outcomes              []string        `json:"outcomes"`       // the close(s)' outcomes, in capture order
	SuggestedCode         string          `json:"suggested_code"` // from the section and the close
	Code                  string          `json:"code,omitempty"` // the entered result code
	CodeTitle             string          `json:"code_title,omitempty"`
	Summary               string          `json:"summary,omitempty"`

	VisitDate      string     `json:"visit_date,omitempty"` // YYYY-MM-DD, Asia/Shanghai
	EntryDue       *time.Time `json:"entry_due,omitempty"`
	PublicationDue *time.Time `json:"publication_due,omitempty"`
	DeadlineError  string     `json:"deadline_error,omitempty"` // the calendar could not count the deadline

	EnteredBy    *int64     `json:"entered_by,omitempty"`  // user id
	EnteredFor   *int64     `json:"entered_for,omitempty"` // inspector id: who did the check
	EnteredAt    *time.Time `json:"entered_at,omitempty"`
	ReviewedBy   *int64     `json:"reviewed_by,omitempty"` // user id of the last return or the approval
	ReviewedAt   *time.Time `json:"reviewed_at,omitempty"`
	ReturnReason string     `json:"return_reason,omitempty"` // the last return's reason

	Resolutions []ResultResolution `json:"resolutions"`
	// Flags are what the reviewer must resolve or see: the joint record's
	// flags that concern this department, and based_on_older_version.
	Flags       []RecordFlag `json:"flags"`
	ApprovedAt  *time.Time   `json:"approved_at,omitempty"`
	PublishedAt *time.Time   `json:"published_at,omitempty"`
	FollowUp    string       `json:"follow_up"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// ResultList is the body of GET /v1/results.
type ResultList struct {
	Results []Result `json:"results"`
}
