package server

import (
	"context"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// CampaignStatus is where a campaign is in its workflow. Append only.
type CampaignStatus string

const (
	CampaignDraft     CampaignStatus = "draft"     // editable
	CampaignCommitted CampaignStatus = "committed" // manifest frozen and its digest published
	CampaignDrawn     CampaignStatus = "drawn"     // randomness entered, targets drawn; departments confirm
	CampaignTeamed    CampaignStatus = "teamed"    // inspectors drawn into teams and matched to targets
	CampaignIssued    CampaignStatus = "issued"    // packets created
)

// AnswerType is how a check item is answered on site.
type AnswerType string

const (
	AnswerCompliance AnswerType = syncproto.AnswerCompliance // compliant / non-compliant / not applicable
	AnswerText       AnswerType = syncproto.AnswerText
	AnswerNumber     AnswerType = syncproto.AnswerNumber
)

// CheckItem is one version of a department's check item (抽查事项).
type CheckItem struct {
	ID           int64
	DepartmentID int64
	Code         string
	Version      int
	Title        string
	LegalBasis   string
	AnswerType   AnswerType
	CreatedAt    time.Time
	RetiredAt    *time.Time
}

// RatioTable is a campaign's sampling ratio: one Default, or a ratio per
// credit-risk class (A–D) with Default for enterprises of any other class.
// Ratios are exact decimal strings such as "0.15", never floats.
type RatioTable struct {
	Default string            `json:"default,omitempty"`
	ByClass map[string]string `json:"by_class,omitempty"`
}

// Campaign is a joint spot-check task (抽查任务).
type Campaign struct {
	ID                      int64
	Name                    string
	Status                  CampaignStatus
	LeadDepartmentID        int64
	DepartmentIDs           []int64 // participating, the lead included
	WindowStart, WindowEnd  Date
	Category                string
	Districts               []string // empty: every district
	Ratio                   RatioTable
	ExclusionMonths         int
	InspectorsPerDepartment int
	TargetsPerTeam          int
	CheckItemIDs            []int64
	// RandomnessSources names the future public values the seed will take,
	// e.g. "中国福利彩票双色球第2026140期开奖号码（2026-12-01 21:15开奖）".
	RandomnessSources []string
	// SourcesAvailableAt is the earliest time the named sources can be known
	// (e.g. the lottery's drawing time). It must be after the commit, and the
	// server refuses a draw before it (ETOOEARLY).
	SourcesAvailableAt *time.Time
	// Materials are what each department asks the targets to prepare, by
	// department id; frozen into the manifest at commit (v3).
	Materials []CampaignMaterials
	// Contact is the lead department's office line printed on the letters.
	// Not in the manifest: it may change after the commit.
	Contact   LeadContact
	CreatedBy int64
	CreatedAt time.Time
	UpdatedAt time.Time

	CommittedAt      *time.Time
	ManifestDigest   string
	PopulationSize   int
	RandomnessValues []string
	Seed             string
	DrawnAt          *time.Time
	ConfirmDeadline  *time.Time
	TeamsDrawnAt     *time.Time
	PacketsIssuedAt  *time.Time
}

// CampaignUpdate holds the draft fields an update may change.
type CampaignUpdate struct {
	Name                    *string
	DepartmentIDs           *[]int64
	WindowStart, WindowEnd  *Date
	Category                *string
	Districts               *[]string
	Ratio                   *RatioTable
	ExclusionMonths         *int
	InspectorsPerDepartment *int
	TargetsPerTeam          *int
	CheckItemIDs            *[]int64
	RandomnessSources       *[]string
	SourcesAvailableAt      *time.Time
	Materials               *[]CampaignMaterials
	// Contact is the one field that may change after the commit.
	Contact *LeadContact
}

// OnlyContact reports whether upd changes the contact and nothing else.
func (upd CampaignUpdate) OnlyContact() bool {
	rest := upd
	rest.Contact = nil
	return upd.Contact != nil && rest == CampaignUpdate{}
}

// Selection is a drawn target.
type Selection struct {
	CreditCode   string
	EnterpriseID int64
	Stratum      string
	Ticket       string // 64 hex digits
	Kind         string // "initial" or "replacement"
	Replaced     bool   // later replaced: no longer a target
}

// Replacement is an append-only replacement of a target.
type Replacement struct {
	Seq             int
	ReplacedCode    string
	ReplacementCode string
	Reason          string
	DepartmentID    *int64
	CreatedBy       int64
	CreatedAt       time.Time
}

// Confirmation is a participating department's confirmation of the targets,
// due by the campaign's ConfirmDeadline (1 working day after the draw).
type Confirmation struct {
	DepartmentID int64
	ConfirmedBy  *int64
	ConfirmedAt  *time.Time
	Overdue      bool // not confirmed and the deadline has passed
}

// TeamMember is an inspector in a drawn team.
type TeamMember struct {
	InspectorID       int64
	DepartmentID      int64
	CertificateNumber string
	Name              string // personal data: never in the public record
	Phone             string // personal data: grouping report only
	Ticket            string
}

// Team is a joint team and its targets.
type Team struct {
	Number  int
	Members []TeamMember
	Targets []string // credit codes, in match order
}

// Packet is the joint inspection packet of one target (一企一表).
type Packet struct {
	ID           string
	CampaignID   int64
	CreditCode   string
	EnterpriseID int64
	TeamNumber   int
	Content      PacketContent
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// The packet's content is wire data: one definition in syncproto, shared by
// the server that makes packets and the SDK that receives them.
type (
	PacketContent      = syncproto.PacketContent
	EnterpriseSnapshot = syncproto.EnterpriseSnapshot
	PacketMember       = syncproto.PacketMember
	PacketSection      = syncproto.PacketSection
	PacketItem         = syncproto.PacketItem
)

// GroupingFiling records that a department filed its grouping report with
// the lead department.
type GroupingFiling struct {
	ID           int64
	CampaignID   int64
	DepartmentID int64
	ReportSHA256 string
	FiledBy      int64
	FiledAt      time.Time
}

// CampaignFilter selects campaigns. Nil fields match everything.
type CampaignFilter struct {
	Status *CampaignStatus
	Offset int
	Limit  int
}

// CheckItemService keeps the departments' versioned check-item catalogues.
// Department admins manage their own department's; everyone signed in reads.
type CheckItemService interface {
	FindCheckItems(ctx context.Context, departmentID *int64, includeRetired bool) ([]*CheckItem, error)
	// CreateCheckItem creates version 1 of a new code, or the next version of
	// an existing one (retiring the previous version).
	CreateCheckItem(ctx context.Context, item *CheckItem) error
	RetireCheckItem(ctx context.Context, id int64) (*CheckItem, error)
}

// CampaignService runs campaigns through the workflow (README.md, "Campaigns
// and the public draw"; the draw itself: docs/draw-spec.md), draft to packets.
// Lead coordinators of the lead department create, commit and draw; admins of
// participating departments confirm, replace and file; platform admins may do
// everything. Staff of departments not taking part see nothing (ENOTFOUND).
type CampaignService interface {
	// Steps 4–7 beyond the methods below: confirmations for a named
	// department, single packets, grouping reports, recusal openings.
	CampaignFieldworkService
	FindCampaignByID(ctx context.Context, id int64) (*Campaign, error)
	FindCampaigns(ctx context.Context, filter CampaignFilter) ([]*Campaign, int, error)
	CreateCampaign(ctx context.Context, c *Campaign) error
	// UpdateCampaign changes a draft. ECONFLICT once committed: nothing in a
	// committed manifest can change; a new draw means a new campaign.
	UpdateCampaign(ctx context.Context, id int64, upd CampaignUpdate) (*Campaign, error)
	// CommitCampaign freezes the manifest and returns the campaign with its digest.
	CommitCampaign(ctx context.Context, id int64) (*Campaign, error)
	// Draw takes the public randomness values (one per named source), derives
	// the seed and draws the targets.
	Draw(ctx context.Context, id int64, randomness []string) (*Campaign, error)
	FindSelections(ctx context.Context, id int64) ([]*Selection, error)
	FindConfirmations(ctx context.Context, id int64) ([]*Confirmation, error)
	// ConfirmTargets records the caller's department's confirmation.
	ConfirmTargets(ctx context.Context, id int64) (*Confirmation, error)
	// ReplaceTarget replaces a target that cannot be inspected by the next
	// ticket of its stratum: an append-only, reasoned event.
	ReplaceTarget(ctx context.Context, id int64, creditCode, reason string) (*Replacement, error)
	FindReplacements(ctx context.Context, id int64) ([]*Replacement, error)
	// DrawTeams draws each department's inspectors into teams and matches
	// teams to targets, once every department has confirmed.
	DrawTeams(ctx context.Context, id int64) ([]*Team, error)
	FindTeams(ctx context.Context, id int64) ([]*Team, error)
	// IssuePackets creates one packet per target.
	IssuePackets(ctx context.Context, id int64) ([]*Packet, error)
	FindPackets(ctx context.Context, id int64) ([]*Packet, error)
	FileGroupingReport(ctx context.Context, id int64, reportSHA256 string) (*GroupingFiling, error)
	FindGroupingFilings(ctx context.Context, id int64) ([]*GroupingFiling, error)
}
