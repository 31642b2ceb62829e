package server

import (
	"context"
	"time"
)

// Declaration is an inspector's declared conflict of interest with an enterprise
// (回避). A draw never matches the inspector to that enterprise once the
// declaration is approved. Declarations are withdrawn, never deleted, so a
// draw's recusals can be explained later.
type Declaration struct {
	ID           int64
	InspectorID  int64
	EnterpriseID int64
	Reason       string
	DeclaredBy   int64 // user who recorded it
	CreatedAt    time.Time
	// Status: one an inspector declares waits for an admin of their
	// department; one an admin enters is approved at once.
	Status     DeclarationStatus
	ReviewedBy *int64
	ReviewedAt *time.Time
	ReviewNote string // why it was rejected (or a note on the approval)

	WithdrawnAt    *time.Time
	WithdrawnBy    *int64
	WithdrawReason string
}

// DeclarationStatus is where a declaration stands. Values are stored and
// sent as is: append only.
type DeclarationStatus string

const (
	DeclarationPending  DeclarationStatus = "pending"  // declared by the inspector; not yet counted in draws
	DeclarationApproved DeclarationStatus = "approved" // counted in every draw's recusals while not withdrawn
	DeclarationRejected DeclarationStatus = "rejected" // an admin refused it, with a reason; final
)

// declarationReviews are the reviews each status allows: only a pending
// declaration is approved or rejected.
var declarationReviews = map[DeclarationStatus][]DeclarationStatus{
	DeclarationPending: {DeclarationApproved, DeclarationRejected},
}

// CanReview reports whether a declaration in status from may be reviewed to status to.
func (from DeclarationStatus) CanReview(to DeclarationStatus) bool {
	for _, s := range declarationReviews[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Standing reports whether d still stands: not rejected and not withdrawn.
// Only a standing declaration may be withdrawn.
func (d *Declaration) Standing() bool {
	return d.WithdrawnAt == nil && d.Status != DeclarationRejected
}

// MaxPendingDeclarations bounds the declarations one inspector may have
// waiting for review, so self-declaring cannot flood the admins (or the draw).
const MaxPendingDeclarations = 20

// DeclarationFilter selects declarations. Nil fields match everything.
type DeclarationFilter struct {
	InspectorID    *int64
	EnterpriseID   *int64
	DepartmentID   *int64
	Status         *DeclarationStatus
	IncludeRetired bool // include withdrawn and rejected declarations
	Offset         int
	Limit          int
}

// DeclarationService records conflicts of interest. Department admins manage
// their department's; an inspector may declare and list their own.
type DeclarationService interface {
	FindDeclarationByID(ctx context.Context, id int64) (*Declaration, error)
	FindDeclarations(ctx context.Context, filter DeclarationFilter) ([]*Declaration, int, error)
	// CreateDeclaration records d: pending when an inspector declares (at
	// most MaxPendingDeclarations waiting), approved when an admin does.
	CreateDeclaration(ctx context.Context, d *Declaration) error
	// ReviewDeclaration approves or rejects a pending declaration; admins of
	// the inspector's department (and platform admins) only. A rejection
	// needs a note saying why. ECONFLICT when it is not pending.
	ReviewDeclaration(ctx context.Context, id int64, to DeclarationStatus, note string) (*Declaration, error)
	// WithdrawDeclaration withdraws a standing declaration, recording who
	// and why (reason required). Its declarer or an admin of the department
	// may; an inspector never withdraws one an admin entered.
	WithdrawDeclaration(ctx context.Context, id int64, reason string) (*Declaration, error)
}
