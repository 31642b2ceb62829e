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

// Validate returns EINVALID if in breaks a rule that holds for every inspector.
func (in *Inspector) Validate() error {
	switch {
	case in.DepartmentID <= 0:
		return Errorf(EINVALID, "执法人员须属于一个部门 (inspector needs a department).")
	case in.Name == "" || len(in.Name) > 100:
		return Errorf(EINVALID, "姓名须为1-100字节 (name must be 1-100 bytes).")
	case in.CertificateNumber == "" || len(in.CertificateNumber) > 64:
		return Errorf(EINVALID, "执法证号须为1-64字节 (certificate number must be 1-64 bytes).")
	case in.CertificateValidFrom.IsZero() || in.CertificateValidUntil.IsZero():
		return Errorf(EINVALID, "执法证有效期不能为空 (certificate validity dates required).")
	case in.CertificateValidUntil.Before(in.CertificateValidFrom):
		return Errorf(EINVALID, "执法证有效期截止日早于起始日 (certificate expires before it starts).")
	case len(in.Phone) > 32:
		return Errorf(EINVALID, "电话号码过长 (phone too long).")
	case !in.Status.Valid():
		return Errorf(EINVALID, "状态须为active、on_leave或left (status must be active, on_leave or left): %q", in.Status)
	}
	if y1, y2 := in.CertificateValidFrom.Year, in.CertificateValidUntil.Year; y1 < MinCertificateYear || y2 > MaxCertificateYear {
		return Errorf(EINVALID, "执法证有效期须在%d年至%d年之间 (certificate validity must lie within %d-%d).", MinCertificateYear, MaxCertificateYear, MinCertificateYear, MaxCertificateYear)
	}
	if len(in.Domains) > MaxInspectorDomains {
		return Errorf(EINVALID, "执法领域最多%d项 (at most %d enforcement domains).", MaxInspectorDomains, MaxInspectorDomains)
	}
	for _, d := range in.Domains {
		if d == "" || len(d) > 64 {
			return Errorf(EINVALID, "执法领域须为1-64字节 (each enforcement domain must be 1-64 bytes).")
		}
		if err := CheckName("执法领域 (domain)", d, 64); err != nil {
			return err
		}
	}
	// The name and certificate number reach the grouping report (CSV) and
	// the certificate number the public manifest.
	if err := CheckName("姓名 (name)", in.Name, 100); err != nil {
		return err
	}
	if err := CheckName("执法证号 (certificate number)", in.CertificateNumber, 64); err != nil {
		return err
	}
	return CheckLine("电话 (phone)", in.Phone, 32)
}

// Bounds of an inspector record.
const (
	MinCertificateYear  = 1970
	MaxCertificateYear  = 2100
	MaxInspectorDomains = 32
)

// CertificateValidOn reports whether the certificate is valid on every day from start to end.
func (in *Inspector) CertificateValidOn(start, end Date) bool {
	return !start.Before(in.CertificateValidFrom) && !in.CertificateValidUntil.Before(end)
}
