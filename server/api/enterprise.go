package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

func (s *Server) enterpriseRoutes(g *echo.Group) {
	g.GET("", s.handleEnterpriseIndex, allow(staffOnly))
	g.POST("", s.handleEnterpriseCreate, allow(platform))
	g.GET("/:id", s.handleEnterpriseView, allow(staffOnly))
	g.PATCH("/:id", s.handleEnterpriseUpdate, allow(platform))
}

// Enterprise is the JSON form of an enterprise in the directory.
type Enterprise struct {
	ID                  int64     `json:"id"`
	CreditCode          string    `json:"credit_code"`
	Name                string    `json:"name"`
	Category            string    `json:"category"`
	District            string    `json:"district"`
	Address             string    `json:"address"`
	LegalRepresentative string    `json:"legal_representative"`
	LicenceNumber       string    `json:"licence_number"`
	Status              string    `json:"status"`
	RiskClass           string    `json:"risk_class"`
	Latitude            *float64  `json:"latitude"`
	Longitude           *float64  `json:"longitude"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func toEnterprise(e *server.Enterprise) Enterprise {
	return Enterprise{
		ID: e.ID, CreditCode: e.CreditCode, Name: e.Name, Category: e.Category, District: e.District,
		Address: e.Address, LegalRepresentative: e.LegalRepresentative, LicenceNumber: e.LicenceNumber,
		Status: string(e.Status), RiskClass: string(e.RiskClass), Latitude: e.Latitude, Longitude: e.Longitude,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

// CreateEnterpriseRequest is the body of "POST /v1/enterprises". Status
// defaults to "active".
type CreateEnterpriseRequest struct {
	CreditCode          string   `json:"credit_code"`
	Name                string   `json:"name"`
	Category            string   `json:"category"`
	District            string   `json:"district"`
	Address             string   `json:"address"`
	LegalRepresentative string   `json:"legal_representative"`
	LicenceNumber       string   `json:"licence_number"`
	Status              string   `json:"status"`
	RiskClass           string   `json:"risk_class"`
	Latitude            *float64 `json:"latitude"`
	Longitude           *float64 `json:"longitude"`
}

// UpdateEnterpriseRequest is the body of "PATCH /v1/enterprises/:id"; an
// absent field is unchanged.
type UpdateEnterpriseRequest struct {
	// CreditCode is here only to refuse it with a clear message.
	CreditCode          *string  `json:"credit_code"`
	Name                *string  `json:"name"`
	Category            *string  `json:"category"`
	District            *string  `json:"district"`
	Address             *string  `json:"address"`
	LegalRepresentative *string  `json:"legal_representative"`
	LicenceNumber       *string  `json:"licence_number"`
	Status              *string  `json:"status"`
	RiskClass           *string  `json:"risk_class"`
	Latitude            *float64 `json:"latitude"`
	Longitude           *float64 `json:"longitude"`
}

// Validate refuses a change of credit code.
func (r *UpdateEnterpriseRequest) Validate() error {
	if r.CreditCode != nil {
		return server.Errorf(server.EINVALID, "统一社会信用代码不可修改 (the credit code cannot change).")
	}
	return nil
}

// handleEnterpriseIndex handles "GET /v1/enterprises" with the filters
// ?credit_code=, ?category=, ?district=, ?status= and ?q= (a name substring).
func (s *Server) handleEnterpriseIndex(c echo.Context) error {
	var f server.EnterpriseFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	f.CreditCode = queryFilterString(c, "credit_code")
	f.Category = queryFilterString(c, "category")
	f.District = queryFilterString(c, "district")
	f.Query = queryFilterString(c, "q")
	if v := queryFilterString(c, "status"); v != nil {
		st := server.EnterpriseStatus(*v)
		if !st.Valid() {
			return server.Errorf(server.EINVALID, "经营状态无效 (status must be active, suspended, deregistered or revoked): %q", *v)
		}
		f.Status = &st
	}
	es, n, err := s.Enterprises.FindEnterprises(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := List[Enterprise]{Items: make([]Enterprise, len(es)), Total: n}
	for i, e := range es {
		out.Items[i] = toEnterprise(e)
	}
	return c.JSON(http.StatusOK, out)
}

// handleEnterpriseCreate handles "POST /v1/enterprises".
func (s *Server) handleEnterpriseCreate(c echo.Context) error {
	var req CreateEnterpriseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Status == "" {
		req.Status = string(server.EnterpriseActive)
	}
	e := &server.Enterprise{
		CreditCode: req.CreditCode, Name: req.Name, Category: req.Category, District: req.District,
		Address: req.Address, LegalRepresentative: req.LegalRepresentative, LicenceNumber: req.LicenceNumber,
		Status: server.EnterpriseStatus(req.Status), RiskClass: server.RiskClass(req.RiskClass),
		Latitude: req.Latitude, Longitude: req.Longitude,
	}
	if err := s.Enterprises.CreateEnterprise(c.Request().Context(), e); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toEnterprise(e))
}

// handleEnterpriseView handles "GET /v1/enterprises/:id".
func (s *Server) handleEnterpriseView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := s.Enterprises.FindEnterpriseByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEnterprise(e))
}

// handleEnterpriseUpdate handles "PATCH /v1/enterprises/:id".
func (s *Server) handleEnterpriseUpdate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req UpdateEnterpriseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	upd := server.EnterpriseUpdate{
		Name: req.Name, Category: req.Category, District: req.District, Address: req.Address,
		LegalRepresentative: req.LegalRepresentative, LicenceNumber: req.LicenceNumber,
		Latitude: req.Latitude, Longitude: req.Longitude,
	}
	if req.Status != nil {
		st := server.EnterpriseStatus(*req.Status)
		upd.Status = &st
	}
	if req.RiskClass != nil {
		rc := server.RiskClass(*req.RiskClass)
		upd.RiskClass = &rc
	}
	e, err := s.Enterprises.UpdateEnterprise(c.Request().Context(), id, upd)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEnterprise(e))
}

// queryFilterString returns the query parameter name, or nil when it is absent or empty.
func queryFilterString(c echo.Context, name string) *string {
	v := c.QueryParam(name)
	if v == "" {
		return nil
	}
	return &v
}

// queryFilterID returns the query parameter name as a positive id, or nil when it
// is absent or empty.
func queryFilterID(c echo.Context, name string) (*int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, server.Errorf(server.EINVALID, "%s须为正整数 (%s must be a positive integer).", name, name)
	}
	return &id, nil
}
