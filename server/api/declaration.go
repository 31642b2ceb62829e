package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

func (s *Server) declarationRoutes(g *echo.Group) {
	g.GET("", s.handleDeclarationIndex, allow(anyRole))
	g.POST("", s.handleDeclarationCreate, allow(adminOrField))
	g.GET("/:id", s.handleDeclarationView, allow(anyRole))
	g.POST("/:id/withdraw", s.handleDeclarationWithdraw, allow(adminOrField))
	g.POST("/:id/approve", s.handleDeclarationApprove, allow(adminOnly))
	g.POST("/:id/reject", s.handleDeclarationReject, allow(adminOnly))
}

// Declaration is the JSON form of a conflict-of-interest declaration (回避).
// Status is pending, approved or rejected; only an approved one that is not
// withdrawn counts in a draw's recusals.
type Declaration struct {
	ID             int64      `json:"id"`
	InspectorID    int64      `json:"inspector_id"`
	EnterpriseID   int64      `json:"enterprise_id"`
	CreditCode     string     `json:"credit_code"`
	Reason         string     `json:"reason"`
	DeclaredBy     int64      `json:"declared_by"`
	CreatedAt      time.Time  `json:"created_at"`
	Status         string     `json:"status"`
	ReviewedBy     *int64     `json:"reviewed_by"`
	ReviewedAt     *time.Time `json:"reviewed_at"`
	ReviewNote     string     `json:"review_note"`
	WithdrawnAt    *time.Time `json:"withdrawn_at"`
	WithdrawnBy    *int64     `json:"withdrawn_by"`
	WithdrawReason string     `json:"withdraw_reason"`
}

func toDeclaration(d *server.Declaration, creditCode string) Declaration {
	return Declaration{
		ID: d.ID, InspectorID: d.InspectorID, EnterpriseID: d.EnterpriseID, CreditCode: creditCode,
		Reason: d.Reason, DeclaredBy: d.DeclaredBy, CreatedAt: d.CreatedAt, Status: string(d.Status),
		ReviewedBy: d.ReviewedBy, ReviewedAt: d.ReviewedAt, ReviewNote: d.ReviewNote,
		WithdrawnAt: d.WithdrawnAt, WithdrawnBy: d.WithdrawnBy, WithdrawReason: d.WithdrawReason,
	}
}

// DeclarationReasonRequest is the body of "POST /v1/declarations/:id/withdraw"
// and "…/reject" (reason required) and "…/approve" (reason optional: a note).
type DeclarationReasonRequest struct {
	Reason string `json:"reason"`
}

// CreateDeclarationRequest is the body of "POST /v1/declarations". The
// enterprise is named by EnterpriseID or CreditCode; given both, they must
// name the same enterprise.
type CreateDeclarationRequest struct {
	InspectorID  int64  `json:"inspector_id"`
	EnterpriseID int64  `json:"enterprise_id"`
	CreditCode   string `json:"credit_code"`
	Reason       string `json:"reason"`
}

// Validate checks the request names an inspector and an enterprise.
func (r *CreateDeclarationRequest) Validate() error {
	switch {
	case r.InspectorID <= 0:
		return server.Errorf(server.EINVALID, "须指定执法人员 (inspector_id required).")
	case r.EnterpriseID < 0 || r.EnterpriseID == 0 && r.CreditCode == "":
		return server.Errorf(server.EINVALID, "须指定企业ID或统一社会信用代码 (enterprise_id or credit_code required).")
	}
	return nil
}

// enterpriseResolver turns credit codes into enterprise ids and back for
// declarations. The store's DeclarationService implements it: inspectors
// declare by credit code yet may not read the enterprise directory.
type enterpriseResolver interface {
	FindEnterpriseIDByCreditCode(ctx context.Context, code string) (int64, error)
	FindCreditCodes(ctx context.Context, ids []int64) (map[int64]string, error)
}

// enterpriseIDByCreditCode resolves code through the declaration service, or
// the directory when the service cannot.
func (s *Server) enterpriseIDByCreditCode(ctx context.Context, code string) (int64, error) {
	if r, ok := s.Declarations.(enterpriseResolver); ok {
		return r.FindEnterpriseIDByCreditCode(ctx, code)
	}
	es, _, err := s.Enterprises.FindEnterprises(ctx, server.EnterpriseFilter{CreditCode: &code, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(es) == 0 {
		return 0, server.Errorf(server.ENOTFOUND, "企业不存在 (enterprise not found).")
	}
	return es[0].ID, nil
}

// declarationCreditCodes returns the credit codes of the enterprises ds name.
func (s *Server) declarationCreditCodes(ctx context.Context, ds ...*server.Declaration) (map[int64]string, error) {
	ids := make([]int64, 0, len(ds))
	seen := make(map[int64]bool, len(ds))
	for _, d := range ds {
		if !seen[d.EnterpriseID] {
			seen[d.EnterpriseID] = true
			ids = append(ids, d.EnterpriseID)
		}
	}
	if r, ok := s.Declarations.(enterpriseResolver); ok {
		return r.FindCreditCodes(ctx, ids)
	}
	out := make(map[int64]string, len(ids))
	for _, id := range ids {
		e, err := s.Enterprises.FindEnterpriseByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out[id] = e.CreditCode
	}
	return out, nil
}

// handleDeclarationIndex handles "GET /v1/declarations" with the filters
// ?inspector_id=, ?enterprise_id=, ?department_id=, ?status= and
// ?include_withdrawn=true (withdrawn and rejected ones too).
func (s *Server) handleDeclarationIndex(c echo.Context) error {
	var f server.DeclarationFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	if f.InspectorID, err = queryFilterID(c, "inspector_id"); err != nil {
		return err
	}
	if f.EnterpriseID, err = queryFilterID(c, "enterprise_id"); err != nil {
		return err
	}
	if f.DepartmentID, err = queryFilterID(c, "department_id"); err != nil {
		return err
	}
	if v := c.QueryParam("status"); v != "" {
		st := server.DeclarationStatus(v)
		if st != server.DeclarationPending && st != server.DeclarationApproved && st != server.DeclarationRejected {
			return server.Errorf(server.EINVALID, "status须为pending、approved或rejected (status must be pending, approved or rejected).")
		}
		f.Status = &st
	}
	if v := c.QueryParam("include_withdrawn"); v != "" {
		if f.IncludeRetired, err = strconv.ParseBool(v); err != nil {
			return server.Errorf(server.EINVALID, "include_withdrawn须为true或false (include_withdrawn must be true or false).")
		}
	}
	ctx := c.Request().Context()
	ds, n, err := s.Declarations.FindDeclarations(ctx, f)
	if err != nil {
		return err
	}
	codes, err := s.declarationCreditCodes(ctx, ds...)
	if err != nil {
		return err
	}
	out := List[Declaration]{Items: make([]Declaration, len(ds)), Total: n}
	for i, d := range ds {
		out.Items[i] = toDeclaration(d, codes[d.EnterpriseID])
	}
	return c.JSON(http.StatusOK, out)
}

// handleDeclarationCreate handles "POST /v1/declarations".
func (s *Server) handleDeclarationCreate(c echo.Context) error {
	var req CreateDeclarationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if req.CreditCode != "" {
		id, err := s.enterpriseIDByCreditCode(ctx, req.CreditCode)
		if err != nil {
			return err
		}
		if req.EnterpriseID != 0 && req.EnterpriseID != id {
			return server.Errorf(server.EINVALID, "企业ID与统一社会信用代码不符 (enterprise_id and credit_code name different enterprises).")
		}
		req.EnterpriseID = id
	}
	d := &server.Declaration{InspectorID: req.InspectorID, EnterpriseID: req.EnterpriseID, Reason: req.Reason}
	if err := s.Declarations.CreateDeclaration(ctx, d); err != nil {
		return err
	}
	return s.renderDeclaration(c, http.StatusCreated, d)
}

// handleDeclarationView handles "GET /v1/declarations/:id".
func (s *Server) handleDeclarationView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := s.Declarations.FindDeclarationByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.renderDeclaration(c, http.StatusOK, d)
}

// handleDeclarationWithdraw handles "POST /v1/declarations/:id/withdraw"
// with {"reason": "…"} (required); withdrawing twice returns the declaration
// unchanged.
func (s *Server) handleDeclarationWithdraw(c echo.Context) error {
	id, req, err := declarationReason(c)
	if err != nil {
		return err
	}
	d, err := s.Declarations.WithdrawDeclaration(c.Request().Context(), id, req.Reason)
	if err != nil {
		return err
	}
	return s.renderDeclaration(c, http.StatusOK, d)
}

// handleDeclarationApprove handles "POST /v1/declarations/:id/approve" with
// an optional {"reason": "…"} note: a pending declaration counts from now on.
func (s *Server) handleDeclarationApprove(c echo.Context) error {
	return s.reviewDeclaration(c, server.DeclarationApproved)
}

// handleDeclarationReject handles "POST /v1/declarations/:id/reject" with
// {"reason": "…"} (required), which the inspector sees.
func (s *Server) handleDeclarationReject(c echo.Context) error {
	return s.reviewDeclaration(c, server.DeclarationRejected)
}

func (s *Server) reviewDeclaration(c echo.Context, to server.DeclarationStatus) error {
	id, req, err := declarationReason(c)
	if err != nil {
		return err
	}
	d, err := s.Declarations.ReviewDeclaration(c.Request().Context(), id, to, req.Reason)
	if err != nil {
		return err
	}
	return s.renderDeclaration(c, http.StatusOK, d)
}

// declarationReason reads the path id and the reason body.
func declarationReason(c echo.Context) (int64, DeclarationReasonRequest, error) {
	var req DeclarationReasonRequest
	id, err := pathID(c, "id")
	if err != nil {
		return 0, req, err
	}
	err = decodeJSON(c, &req)
	return id, req, err
}

func (s *Server) renderDeclaration(c echo.Context, status int, d *server.Declaration) error {
	codes, err := s.declarationCreditCodes(c.Request().Context(), d)
	if err != nil {
		return err
	}
	return c.JSON(status, toDeclaration(d, codes[d.EnterpriseID]))
}
