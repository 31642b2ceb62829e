package server

import (
	"context"
	"time"
)

// Declaration is an inspector's declared conflict of interest with an enterprise
// (回避). A draw never matches the inspector to that enterprise. Declarations are
// withdrawn, never deleted, so a draw's recusals can be explained later.
type Declaration struct {
	ID           int64
	InspectorID  int64
	EnterpriseID int64
	Reason       string
	DeclaredBy   int64 // user who recorded it
	CreatedAt    time.Time
	WithdrawnAt  *time.Time
}

// DeclarationFilter selects declarations. Nil fields match everything.
type DeclarationFilter struct {
	InspectorID    *int64
	EnterpriseID   *int64
	DepartmentID   *int64
	IncludeRetired bool // include withdrawn declarations
	Offset         int
	Limit          int
}

// DeclarationService records conflicts of interest. Department admins manage
// their department's; an inspector may declare and list their own.
type DeclarationService interface {
	FindDeclarationByID(ctx context.Context, id int64) (*Declaration, error)
	FindDeclarations(ctx context.Context, filter DeclarationFilter) ([]*Declaration, int, error)
	CreateDeclaration(ctx context.Context, d *Declaration) error
	WithdrawDeclaration(ctx context.Context, id int64) (*Declaration, error)
}
