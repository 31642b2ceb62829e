package store

import (
	"encoding/json"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// enterpriseRow mirrors the enterprises table.
type enterpriseRow struct {
	ID                  int64
	CreditCode          string
	Name                string
	Category            string
	District            string
	Address             string
	LegalRepresentative string
	LicenceNumber       string
	Status              string
	RiskClass           string
	Latitude            *float64
	Longitude           *float64
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (enterpriseRow) TableName() string { return "enterprises" }

func (r *enterpriseRow) domain() *server.Enterprise {
	return &server.Enterprise{
		ID: r.ID, CreditCode: r.CreditCode, Name: r.Name, Category: r.Category, District: r.District,
		Address: r.Address, LegalRepresentative: r.LegalRepresentative, LicenceNumber: r.LicenceNumber,
		Status: server.EnterpriseStatus(r.Status), RiskClass: server.RiskClass(r.RiskClass),
		Latitude: r.Latitude, Longitude: r.Longitude, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// enterpriseRowOf returns the row for e; timestamps are left to the caller.
func enterpriseRowOf(e *server.Enterprise) enterpriseRow {
	return enterpriseRow{
		ID: e.ID, CreditCode: e.CreditCode, Name: e.Name, Category: e.Category, District: e.District,
		Address: e.Address, LegalRepresentative: e.LegalRepresentative, LicenceNumber: e.LicenceNumber,
		Status: string(e.Status), RiskClass: string(e.RiskClass), Latitude: e.Latitude, Longitude: e.Longitude,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

// inspectorRow mirrors the inspectors table. Dates are "YYYY-MM-DD" text and
// domains a JSON array, the same on both dialects.
type inspectorRow struct {
	ID                    int64
	DepartmentID          int64
	Name                  string
	CertificateNumber     string
	CertificateValidFrom  string
	CertificateValidUntil string
	Domains               string
	Phone                 string
	Status                string
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

func (inspectorRow) TableName() string { return "inspectors" }

func (r *inspectorRow) domain() (*server.Inspector, error) {
	from, err := server.ParseDate(r.CertificateValidFrom)
	if err != nil {
		return nil, err
	}
	until, err := server.ParseDate(r.CertificateValidUntil)
	if err != nil {
		return nil, err
	}
	var domains []string
	if err := json.Unmarshal([]byte(r.Domains), &domains); err != nil {
		return nil, err
	}
	if domains == nil {
		domains = []string{}
	}
	return &server.Inspector{
		ID: r.ID, DepartmentID: r.DepartmentID, Name: r.Name, CertificateNumber: r.CertificateNumber,
		CertificateValidFrom: from, CertificateValidUntil: until, Domains: domains, Phone: r.Phone,
		Status: server.InspectorStatus(r.Status), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}, nil
}

// inspectorRowOf returns the row for in; timestamps are left to the caller.
func inspectorRowOf(in *server.Inspector) inspectorRow {
	domains := in.Domains
	if domains == nil {
		domains = []string{}
	}
	buf, _ := json.Marshal(domains) // []string always marshals
	return inspectorRow{
		ID: in.ID, DepartmentID: in.DepartmentID, Name: in.Name, CertificateNumber: in.CertificateNumber,
		CertificateValidFrom: in.CertificateValidFrom.String(), CertificateValidUntil: in.CertificateValidUntil.String(),
		Domains: string(buf), Phone: in.Phone, Status: string(in.Status), CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
	}
}

// declarationRow mirrors the conflict_declarations table.
type declarationRow struct {
	ID             int64
	InspectorID    int64
	EnterpriseID   int64
	Reason         string
	DeclaredBy     int64
	CreatedAt      time.Time
	Status         string
	ReviewedBy     *int64
	ReviewedAt     *time.Time
	ReviewNote     string
	WithdrawnAt    *time.Time
	WithdrawnBy    *int64
	WithdrawReason string
}

func (declarationRow) TableName() string { return "conflict_declarations" }

func (r *declarationRow) domain() *server.Declaration {
	return &server.Declaration{
		ID: r.ID, InspectorID: r.InspectorID, EnterpriseID: r.EnterpriseID, Reason: r.Reason,
		DeclaredBy: r.DeclaredBy, CreatedAt: r.CreatedAt, Status: server.DeclarationStatus(r.Status),
		ReviewedBy: r.ReviewedBy, ReviewedAt: r.ReviewedAt, ReviewNote: r.ReviewNote,
		WithdrawnAt: r.WithdrawnAt, WithdrawnBy: r.WithdrawnBy, WithdrawReason: r.WithdrawReason,
	}
}
