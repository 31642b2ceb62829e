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
