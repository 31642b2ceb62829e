package server

import (
	"context"
	"time"
)

// InspectorStatus is whether an inspector can be drawn.
type InspectorStatus string

const (
	InspectorActive  InspectorStatus = "active"
	InspectorOnLeave InspectorStatus = "on_leave"
	InspectorLeft    InspectorStatus = "left"
)

// Valid reports whether s is a known status.
func (s InspectorStatus) Valid() bool {
	switch s {
	case InspectorActive, InspectorOnLeave, InspectorLeft:
		return true
	}
	return false
}

// Inspector is an enforcement officer in the roster (执法检查人员名录库).
type Inspector struct {
	ID                    int64
	DepartmentID          int64
	Name                  string
	CertificateNumber     string // enforcement certificate (执法证号); the public identifies inspectors by it
	CertificateValidFrom  Date
	CertificateValidUntil Date
	Domains               []string // enforcement domains (执法领域)
	Phone                 string   // personal data: never in public output
	Status                InspectorStatus
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// InspectorFilter selects inspectors. Nil fields match everything.
type InspectorFilter struct {
	DepartmentID      *int64
	CertificateNumber *string
	Status            *InspectorStatus
	Offset            int
	Limit             int
}

// InspectorUpdate holds the fields an update may change.
type InspectorUpdate struct {
	Name                  *string
	CertificateValidFrom  *Date
	CertificateValidUntil *Date
	Domains               *[]string
	Phone                 *string
	Status                *InspectorStatus
}

// InspectorService manages the roster. A department admin sees and changes only
// their own department's inspectors; an inspector sees only their own record.
type InspectorService interface {
	FindInspectorByID(ctx context.Context, id int64) (*Inspector, error)
	FindInspectors(ctx context.Context, filter InspectorFilter) ([]*Inspector, int, error)
	CreateInspector(ctx context.Context, in *Inspector) error
	UpdateInspector(ctx context.Context, id int64, upd InspectorUpdate) (*Inspector, error)
}
