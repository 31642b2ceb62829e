package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// deptStaff enter and review results: a department's admin and inspectors.
var deptStaff = []server.Role{server.RoleDepartmentAdmin, server.RoleInspector}

// resultRoutes: the result catalogue, entry and review, overdue lists, an
// enterprise's record and a campaign's result deadlines (mounted at /v1).
func (s *Server) resultRoutes(g *echo.Group) {
	g.GET("/result-codes", s.handleResultCodes, allow(anyRole))
	g.POST("/result-codes", s.handleResultCodeCreate, allow(platform))
	g.PATCH("/result-codes/:id", s.handleResultCodeUpdate, allow(platform))
	g.GET("/results", s.handleResults, allow(anyRole))
	g.GET("/results/overdue", s.handleResultsOverdue, allow(staffOnly))
	g.GET("/results/:id", s.handleResultView, allow(anyRole))
	g.POST("/results/:id/enter", s.handleResultEnter, allow(deptStaff))
	g.POST("/results/:id/return", s.handleResultReturn, allow(deptStaff))
	g.POST("/results/:id/approve", s.handleResultApprove, allow(deptStaff))
	g.GET("/enterprises/:id/inspections", s.handleEnterpriseInspections, allow(staffOnly))
	g.GET("/campaigns/:id/result-deadlines", s.handleResultDeadlines, allow(staffOnly))
	g.PATCH("/campaigns/:id/result-deadlines", s.handleResultDeadlinesUpdate, allow(coordinators))
}

// ResultCodeList is the answer of "GET /v1/result-codes".
type ResultCodeList struct {
	Codes []*server.ResultCode `json:"codes"`
}

// EnterpriseInspections is the answer of "GET /v1/enterprises/:id/inspections".
type EnterpriseInspections struct {
	EnterpriseID int64                         `json:"enterprise_id"`
	Inspections  []server.EnterpriseInspection `json:"inspections"`
}

func (s *Server) handleResultCodes(c echo.Context) error {
	cs, err := s.Results.FindResultCodes(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ResultCodeList{Codes: cs})
}

// ResultCodeCreate is the body of "POST /v1/result-codes".
type ResultCodeCreate struct {
	Code          string `json:"code"`
	Title         string `json:"title"`
	ProblemsFound bool   `json:"problems_found"`
	NotLocatable  bool   `json:"not_locatable"`
}

func (s *Server) handleResultCodeCreate(c echo.Context) error {
	var req ResultCodeCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	rc := &server.ResultCode{Code: req.Code, Title: req.Title, ProblemsFound: req.ProblemsFound, NotLocatable: req.NotLocatable}
	if err := s.Results.CreateResultCode(c.Request().Context(), rc); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, rc)
}

// ResultCodeUpdate is the body of "PATCH /v1/result-codes/:code": only the
// title changes.
type ResultCodeUpdate struct {
	Title string `json:"title"`
}

func (s *Server) handleResultCodeUpdate(c echo.Context) error {
	var req ResultCodeUpdate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	rc, err := s.Results.UpdateResultCodeTitle(c.Request().Context(), c.Param("id"), req.Title)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rc)
}

// handleResults handles "GET /v1/results?campaign_id=&packet_id=&state=":
// the results the caller may see (an inspector: their own).
func (s *Server) handleResults(c echo.Context) error {
	var f server.ResultFilter
	if v := c.QueryParam("campaign_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return server.Errorf(server.EINVALID, "campaign_id须为正整数 (campaign_id must be a positive integer).")
		}
		f.CampaignID = &id
	}
	if v := c.QueryParam("packet_id"); v != "" {
		f.PacketID = &v
	}
	if v := c.QueryParam("state"); v != "" {
		f.State = &v
	}
	rs, err := s.Results.FindResults(c.Request().Context(), f)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, syncproto.ResultList{Results: rs})
}

func (s *Server) handleResultsOverdue(c echo.Context) error {
	var campaign *int64
	if v := c.QueryParam("campaign_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return server.Errorf(server.EINVALID, "campaign_id须为正整数 (campaign_id must be a positive integer).")
		}
		campaign = &id
	}
	out, err := s.Results.FindOverdue(c.Request().Context(), campaign)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleResultView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := s.Results.FindResultByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, r)
}

// ResultEnter is the body of "POST /v1/results/:id/enter": a result code of
// the catalogue, a summary, and (for a department admin entering on an
// inspector's behalf) the inspector's id.
type ResultEnter struct {
	Code       string `json:"code"`
	Summary    string `json:"summary"`
	EnteredFor *int64 `json:"entered_for"`
}

// handleResultEnter handles "POST /v1/results/:id/enter".
func (s *Server) handleResultEnter(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ResultEnter
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// The store checks the body after who may enter, so a caller who may not
	// learns nothing from validation errors.
	r, err := s.Results.EnterResult(c.Request().Context(), id, server.ResultEntry(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// ResultReturn is the body of "POST /v1/results/:id/return".
type ResultReturn struct {
	Reason string `json:"reason"`
}

func (s *Server) handleResultReturn(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ResultReturn
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.Results.ReturnResult(c.Request().Context(), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// ResultApprove is the body of "POST /v1/results/:id/approve": a reason for
// each flag the reviewer must resolve (several_closes, no_close, and the
// department's section_not_covered or close_covers_unknown).
type ResultApprove struct {
	Resolutions []syncproto.ResultResolution `json:"resolutions"`
}

func (s *Server) handleResultApprove(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ResultApprove
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Resolutions) > 50 {
		return server.Errorf(server.EINVALID, "处理项过多 (too many resolutions).")
	}
	r, err := s.Results.ApproveResult(c.Request().Context(), id, req.Resolutions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// handleEnterpriseInspections handles "GET /v1/enterprises/:id/inspections":
// the enterprise's record of approved results.
func (s *Server) handleEnterpriseInspections(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Results.FindEnterpriseInspections(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, EnterpriseInspections{EnterpriseID: id, Inspections: out})
}

func (s *Server) handleResultDeadlines(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	d, err := s.Results.FindResultDeadlines(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// ResultDeadlinesUpdate is the body of "PATCH /v1/campaigns/:id/result-deadlines".
// A field left out keeps its value.
type ResultDeadlinesUpdate struct {
	EntryWorkingDays       *int `json:"entry_working_days"`
	PublicationWorkingDays *int `json:"publication_working_days"`
	FollowUpWorkingDays    *int `json:"followup_working_days"`
}

func (s *Server) handleResultDeadlinesUpdate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ResultDeadlinesUpdate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.Results.FindResultDeadlines(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if req.EntryWorkingDays != nil {
		d.EntryWorkingDays = *req.EntryWorkingDays
	}
	if req.PublicationWorkingDays != nil {
		d.PublicationWorkingDays = *req.PublicationWorkingDays
	}
	if req.FollowUpWorkingDays != nil {
		d.FollowUpWorkingDays = *req.FollowUpWorkingDays
	}
	d, err = s.Results.UpdateResultDeadlines(c.Request().Context(), *d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
