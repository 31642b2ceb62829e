package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

func (s *Server) inspectorRoutes(g *echo.Group) {
	g.GET("", s.handleInspectorIndex, allow(anyRole))
	g.POST("", s.handleInspectorCreate, allow(adminOnly))
	g.GET("/:id", s.handleInspectorView, allow(anyRole))
	g.PATCH("/:id", s.handleInspectorUpdate, allow(adminOnly))
}

// Inspector is the JSON form of an inspector in the roster. Phone is left
// out for callers who may not read it.
type Inspector struct {
	ID                    int64       `json:"id"`
	DepartmentID          int64       `json:"department_id"`
	Name                  string      `json:"name"`
	CertificateNumber     string      `json:"certificate_number"`
	CertificateValidFrom  server.Date `json:"certificate_valid_from"`
	CertificateValidUntil server.Date `json:"certificate_valid_until"`
	Domains               []string    `json:"domains"`
	Phone                 string      `json:"phone,omitempty"`
	Status                string      `json:"status"`
	CreatedAt             time.Time   `json:"created_at"`
	UpdatedAt             time.Time   `json:"updated_at"`
}

func toInspector(in *server.Inspector) Inspector {
	domains := in.Domains
	if domains == nil {
		domains = []string{}
	}
	return Inspector{
		ID: in.ID, DepartmentID: in.DepartmentID, Name: in.Name, CertificateNumber: in.CertificateNumber,
		CertificateValidFrom: in.CertificateValidFrom, CertificateValidUntil: in.CertificateValidUntil,
		Domains: domains, Phone: in.Phone, Status: string(in.Status), CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
	}
}

// CreateInspectorRequest is the body of "POST /v1/inspectors". DepartmentID
// defaults to the caller's department and Status to "active".
type CreateInspectorRequest struct {
	DepartmentID          int64       `json:"department_id"`
	Name                  string      `json:"name"`
	CertificateNumber     string      `json:"certificate_number"`
	CertificateValidFrom  server.Date `json:"certificate_valid_from"`
	CertificateValidUntil server.Date `json:"certificate_valid_until"`
	Domains               []string    `json:"domains"`
	Phone                 string      `json:"phone"`
	Status                string      `json:"status"`
}

// UpdateInspectorRequest is the body of "PATCH /v1/inspectors/:id"; an
// absent field is unchanged.
type UpdateInspectorRequest struct {
	// DepartmentID and CertificateNumber are here only to refuse them with a clear message.
	DepartmentID          *int64       `json:"department_id"`
	CertificateNumber     *string      `json:"certificate_number"`
	Name                  *string      `json:"name"`
	CertificateValidFrom  *server.Date `json:"certificate_valid_from"`
	CertificateValidUntil *server.Date `json:"certificate_valid_until"`
	Domains               *[]string    `json:"domains"`
	Phone                 *string      `json:"phone"`
	Status                *string      `json:"status"`
}

// Validate refuses a change of department or certificate number.
func (r *UpdateInspectorRequest) Validate() error {
	switch {
	case r.DepartmentID != nil:
		return server.Errorf(server.EINVALID, "执法人员所属部门不可修改 (an inspector's department cannot change).")
	case r.CertificateNumber != nil:
		return server.Errorf(server.EINVALID, "执法证号不可修改 (the certificate number cannot change).")
	}
	return nil
}

// handleInspectorIndex handles "GET /v1/inspectors" with the filters
// ?department_id=, ?status= and ?certificate_number=.
func (s *Server) handleInspectorIndex(c echo.Context) error {
	var f server.InspectorFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	if f.DepartmentID, err = queryFilterID(c, "department_id"); err != nil {
		return err
	}
	f.CertificateNumber = queryFilterString(c, "certificate_number")
	if v := queryFilterString(c, "status"); v != nil {
		st := server.InspectorStatus(*v)
		if !st.Valid() {
			return server.Errorf(server.EINVALID, "状态须为active、on_leave或left (status must be active, on_leave or left): %q", *v)
		}
		f.Status = &st
	}
	ins, n, err := s.Inspectors.FindInspectors(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := List[Inspector]{Items: make([]Inspector, len(ins)), Total: n}
	for i, in := range ins {
		out.Items[i] = toInspector(in)
	}
	return c.JSON(http.StatusOK, out)
}

// handleInspectorCreate handles "POST /v1/inspectors".
func (s *Server) handleInspectorCreate(c echo.Context) error {
	var req CreateInspectorRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.DepartmentID == 0 {
		if u := server.UserFromContext(c.Request().Context()); u != nil && u.DepartmentID != nil {
			req.DepartmentID = *u.DepartmentID
		}
	}
	if req.Status == "" {
		req.Status = string(server.InspectorActive)
	}
	in := &server.Inspector{
		DepartmentID: req.DepartmentID, Name: req.Name, CertificateNumber: req.CertificateNumber,
		CertificateValidFrom: req.CertificateValidFrom, CertificateValidUntil: req.CertificateValidUntil,
		Domains: req.Domains, Phone: req.Phone, Status: server.InspectorStatus(req.Status),
	}
	if err := s.Inspectors.CreateInspector(c.Request().Context(), in); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toInspector(in))
}

// handleInspectorView handles "GET /v1/inspectors/:id".
func (s *Server) handleInspectorView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	in, err := s.Inspectors.FindInspectorByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toInspector(in))
}

// handleInspectorUpdate handles "PATCH /v1/inspectors/:id".
func (s *Server) handleInspectorUpdate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req UpdateInspectorRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	upd := server.InspectorUpdate{
		Name: req.Name, CertificateValidFrom: req.CertificateValidFrom, CertificateValidUntil: req.CertificateValidUntil,
		Domains: req.Domains, Phone: req.Phone,
	}
	if req.Status != nil {
		st := server.InspectorStatus(*req.Status)
		upd.Status = &st
	}
	in, err := s.Inspectors.UpdateInspector(c.Request().Context(), id, upd)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toInspector(in))
}
