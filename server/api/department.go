package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

func (s *Server) departmentRoutes(g *echo.Group) {
	g.GET("", s.handleDepartmentIndex, allow(anyRole))
	g.POST("", s.handleDepartmentCreate, allow(platform))
	g.GET("/:id", s.handleDepartmentView, allow(anyRole))
	g.PATCH("/:id", s.handleDepartmentUpdate, allow(platform))
}

// Department is the JSON form of a department.
type Department struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toDepartment(d *server.Department) Department {
	return Department{ID: d.ID, Code: d.Code, Name: d.Name, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// CreateDepartmentRequest is the body of "POST /v1/departments".
type CreateDepartmentRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// UpdateDepartmentRequest is the body of "PATCH /v1/departments/:id".
type UpdateDepartmentRequest struct {
	Name *string `json:"name"`
}

// handleDepartmentIndex handles "GET /v1/departments".
func (s *Server) handleDepartmentIndex(c echo.Context) error {
	ds, err := s.Departments.FindDepartments(c.Request().Context())
	if err != nil {
		return err
	}
	out := List[Department]{Items: make([]Department, len(ds)), Total: len(ds)}
	for i, d := range ds {
		out.Items[i] = toDepartment(d)
	}
	return c.JSON(http.StatusOK, out)
}

// handleDepartmentCreate handles "POST /v1/departments".
func (s *Server) handleDepartmentCreate(c echo.Context) error {
	var req CreateDepartmentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d := &server.Department{Code: req.Code, Name: req.Name}
	if err := s.Departments.CreateDepartment(c.Request().Context(), d); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toDepartment(d))
}

// handleDepartmentView handles "GET /v1/departments/:id".
func (s *Server) handleDepartmentView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := s.Departments.FindDepartmentByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDepartment(d))
}

// handleDepartmentUpdate handles "PATCH /v1/departments/:id".
func (s *Server) handleDepartmentUpdate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req UpdateDepartmentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.Departments.UpdateDepartment(c.Request().Context(), id, server.DepartmentUpdate{Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDepartment(d))
}
