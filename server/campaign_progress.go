package server

import (
	"context"
	"time"
)

// PacketProgress is where one packet of a campaign stands, from issue to
// review, as the server knows it: for the coordinator's progress page.
type PacketProgress struct {
	PacketID       string
	CreditCode     string
	EnterpriseName string
	TeamNumber     int
	IssuedAt       time.Time
	// VisitedAt is the device time of the packet's earliest close (the
	// visit); SyncedAt when the server received it. Nil before.
	VisitedAt *time.Time
	SyncedAt  *time.Time
	// SectionsSealed counts the departments whose section is sealed.
	SectionsSealed int
	// Results are the departments' results (one per sealed section).
	Results []ResultProgress
}

// ResultProgress is one department's result of a packet.
type ResultProgress struct {
	DepartmentID int64
	State        string     // syncproto.Result* states
	EnteredAt    *time.Time // the latest entry
	ApprovedAt   *time.Time
}

// CampaignProgressService reports a campaign's progress. The campaign
// service implements it, for the staff who may read the campaign's packets
// (as FindPackets); ENOTFOUND for anyone else.
type CampaignProgressService interface {
	FindCampaignProgress(ctx context.Context, id int64) ([]*PacketProgress, error)
}
