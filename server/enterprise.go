package server

import (
	"context"
	"time"
)

// EnterpriseStatus is an enterprise's registration status.
type EnterpriseStatus string

const (
	EnterpriseActive       EnterpriseStatus = "active"       // 存续/在业
	EnterpriseSuspended    EnterpriseStatus = "suspended"    // 停业
	EnterpriseDeregistered EnterpriseStatus = "deregistered" // 注销
	EnterpriseRevoked      EnterpriseStatus = "revoked"      // 吊销
)

// Valid reports whether s is a known status.
func (s EnterpriseStatus) Valid() bool {
	switch s {
	case EnterpriseActive, EnterpriseSuspended, EnterpriseDeregistered, EnterpriseRevoked:
		return true
	}
	return false
}

// RiskClass is the enterprise credit-risk class A (low) to D (high); "" if unclassified.
type RiskClass string

// Valid reports whether c is "" or one of A, B, C, D.
func (c RiskClass) Valid() bool {
	switch c {
	case "", "A", "B", "C", "D":
		return true
	}
	return false
}

// CategoryInternetCafe is the category of internet service business premises
// (互联网上网服务营业场所), the first campaign's population.
const CategoryInternetCafe = "internet_cafe"

// Enterprise is a market entity in the directory (市场主体名录库).
type Enterprise struct {
	ID                  int64
	CreditCode          string // unified social credit code, GB 32100-2015
	Name                string
	Category            string
	District            string
	Address             string
	LegalRepresentative string // personal data: never in public output
	LicenceNumber       string
	Status              EnterpriseStatus
	RiskClass           RiskClass
	Latitude            *float64
	Longitude           *float64
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// EnterpriseFilter selects enterprises. Nil fields match everything.
type EnterpriseFilter struct {
	CreditCode *string
	Category   *string
	District   *string
	Status     *EnterpriseStatus
	Query      *string // substring of the name
	Offset     int
	Limit      int
}

// EnterpriseUpdate holds the fields an update may change. The credit code never changes.
type EnterpriseUpdate struct {
	Name                *string
	Category            *string
	District            *string
	Address             *string
	LegalRepresentative *string
	LicenceNumber       *string
	Status              *EnterpriseStatus
	RiskClass           *RiskClass
	Latitude            *float64
	Longitude           *float64
}

// EnterpriseService manages the enterprise directory. The directory is shared
// by every department; staff may read it, platform admins change it.
type EnterpriseService interface {
	FindEnterpriseByID(ctx context.Context, id int64) (*Enterprise, error)
	FindEnterprises(ctx context.Context, filter EnterpriseFilter) ([]*Enterprise, int, error)
	CreateEnterprise(ctx context.Context, e *Enterprise) error
	UpdateEnterprise(ctx context.Context, id int64, upd EnterpriseUpdate) (*Enterprise, error)
}

// Validate returns EINVALID if e breaks a rule that holds for every enterprise.
func (e *Enterprise) Validate() error {
	if err := CheckCreditCode(e.CreditCode); err != nil {
		return err
	}
	switch {
	case e.Name == "" || len(e.Name) > 200:
		return Errorf(EINVALID, "企业名称须为1-200字节 (name must be 1-200 bytes).")
	case e.Category == "" || len(e.Category) > 64:
		return Errorf(EINVALID, "企业类别不能为空 (category required).")
	case e.District == "" || len(e.District) > 64:
		return Errorf(EINVALID, "所属区县不能为空 (district required).")
	case len(e.Address) > 500 || len(e.LegalRepresentative) > 100 || len(e.LicenceNumber) > 100:
		return Errorf(EINVALID, "地址、法定代表人或许可证号过长 (address, legal representative or licence number too long).")
	case !e.Status.Valid():
		return Errorf(EINVALID, "经营状态无效 (status must be active, suspended, deregistered or revoked): %q", e.Status)
	case !e.RiskClass.Valid():
		return Errorf(EINVALID, "信用风险分类须为A、B、C、D或空 (risk class must be A, B, C, D or empty): %q", e.RiskClass)
	case (e.Latitude == nil) != (e.Longitude == nil):
		return Errorf(EINVALID, "经纬度须同时提供 (latitude and longitude go together).")
	case e.Latitude != nil && (*e.Latitude < -90 || *e.Latitude > 90 || *e.Longitude < -180 || *e.Longitude > 180):
		return Errorf(EINVALID, "经纬度超出范围 (coordinates out of range).")
	}
	// Names and addresses reach the grouping report (CSV) and packets.
	for _, f := range []struct {
		what, v string
		max     int
		name    bool
	}{
		{"企业名称 (name)", e.Name, 200, true}, {"企业类别 (category)", e.Category, 64, true},
		{"所属区县 (district)", e.District, 64, true}, {"地址 (address)", e.Address, 500, true},
		{"法定代表人 (legal representative)", e.LegalRepresentative, 100, true},
		{"许可证号 (licence number)", e.LicenceNumber, 100, false},
	} {
		check := CheckLine
		if f.name {
			check = CheckName
		}
		if err := check(f.what, f.v, f.max); err != nil {
			return err
		}
	}
	return nil
}
