package server

import (
	"context"
	"time"
)

// ConfirmationStatus is every participating department's confirmation of a
// campaign's targets, with the deadline they are due by.
type ConfirmationStatus struct {
	ConfirmDeadline *time.Time // nil before the draw
	Confirmations   []*Confirmation
	// Reopenings are the confirmations a later replacement withdrew, oldest first.
	Reopenings []*ConfirmationReopening
}

// RecusalOpening opens one salted recusal commitment: the inspector's
// certificate, the enterprise's credit code and the 64-hex-digit salt. Late
// marks a recusal declared after commit (committed in the public record
// rather than the manifest).
type RecusalOpening struct {
	Certificate string
	CreditCode  string
	Salt        string
	Late        bool
}

// ConfirmationReopening records a confirmation withdrawn because a target was
// replaced after it: the department confirms the changed targets again.
type ConfirmationReopening struct {
	DepartmentID   int64
	ConfirmedBy    int64
	ConfirmedAt    time.Time
	ReplacementSeq int
	ReopenedBy     int64
	ReopenedAt     time.Time
	Reason         string
}

// GroupingReport is the grouping report (分组名单): per department, its
// inspectors in each team and the team's targets. It carries names and phones,
// so only that department's admins, the lead coordinator and platform admins
// may read it.
type GroupingReport struct {
	CampaignID   int64
	CampaignName string
	WindowStart  Date
	WindowEnd    Date
	Sections     []GroupingSection // by department code
}

// GroupingSection is one department's part of a grouping report.
type GroupingSection struct {
	DepartmentID   int64
	DepartmentCode string
	DepartmentName string
	Teams          []GroupingTeam // by team number
}

// GroupingTeam is a team as one department's report shows it: the team's
// targets and that department's members.
type GroupingTeam struct {
	Number  int
	Targets []GroupingTarget // in match order
	Members []TeamMember     // this department's members, with phones
}

// GroupingTarget is a target in a grouping report.
type GroupingTarget struct {
	CreditCode string
	Name       string
	Address    string
}

// CampaignFieldworkService is what the campaign service offers for steps 4–7
// beyond CampaignService: confirmations on behalf of a named department (for
// platform admins, who belong to none), single packets, and grouping reports.
type CampaignFieldworkService interface {
	// FindRecusalOpenings returns the openings of a campaign's recusal
	// commitments (the pairs and salts the public record hides), for an
	// auditor: platform admins and the lead department's coordinators;
	// ENOTFOUND for anyone else.
	FindRecusalOpenings(ctx context.Context, id int64) ([]*RecusalOpening, error)
	// FindConfirmationStatus lists every participating department's
	// confirmation and the deadline.
	FindConfirmationStatus(ctx context.Context, id int64) (*ConfirmationStatus, error)
	// ConfirmTargetsFor records departmentID's confirmation; nil means the
	// caller's own department. Only platform admins may name another.
	ConfirmTargetsFor(ctx context.Context, id int64, departmentID *int64) (*Confirmation, error)
	// FindPacketByID returns a packet to staff of a participating department
	// and to the inspectors of its team; ENOTFOUND for anyone else.
	FindPacketByID(ctx context.Context, id string) (*Packet, error)
	// FindGroupingReport returns the sections the caller may read: a
	// department admin their own department's, the lead coordinator and
	// platform admins every department's (or the one departmentID names).
	FindGroupingReport(ctx context.Context, id int64, departmentID *int64) (*GroupingReport, error)
	// FileGroupingReportFor records that departmentID (nil: the caller's own)
	// filed its grouping report, whose CSV hashes to reportSHA256.
	FileGroupingReportFor(ctx context.Context, id int64, departmentID *int64, reportSHA256 string) (*GroupingFiling, error)
}
