package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// coordinators run campaigns: platform admins, and lead coordinators for the
// campaigns their department leads (checked in the store).
var coordinators = []server.Role{server.RolePlatformAdmin, server.RoleLeadCoordinator}

// campaignRoutes: drafts, check items, commit, draw (mounted at /v1).
func (s *Server) campaignRoutes(g *echo.Group) {
	g.GET("/check-items", s.handleCheckItemIndex, allow(anyRole))
	g.POST("/check-items", s.handleCheckItemCreate, allow(adminOnly))
	g.POST("/check-items/:id/retire", s.handleCheckItemRetire, allow(adminOnly))

	g.GET("/campaigns", s.handleCampaignIndex, allow(staffOnly))
	g.POST("/campaigns", s.handleCampaignCreate, allow(coordinators))
	g.GET("/campaigns/:id", s.handleCampaignView, allow(staffOnly))
	g.PATCH("/campaigns/:id", s.handleCampaignUpdate, allow(coordinators))
	g.POST("/campaigns/:id/commit", s.handleCampaignCommit, allow(coordinators))
	g.POST("/campaigns/:id/draw", s.handleCampaignDraw, allow(coordinators))
	g.GET("/campaigns/:id/selections", s.handleSelectionIndex, allow(staffOnly))
}

// publicRoutes: the unauthenticated public record of draws.
func (s *Server) publicRoutes(e *echo.Echo) {
	e.GET("/public/campaigns", s.handlePublicCampaignIndex)
	e.GET("/public/campaigns/:id/manifest", s.handlePublicManifest)
	e.GET("/public/campaigns/:id/record", s.handlePublicRecord)
}

// PublicRecords serves committed campaigns' manifests and draw records to
// anyone. The store implements it.
type PublicRecords interface {
	// FindPublicCampaigns lists committed campaigns: id, name, status, digest.
	FindPublicCampaigns(ctx context.Context) ([]PublicCampaign, error)
	// WriteManifest streams the canonical manifest; ENOTFOUND for a draft.
	WriteManifest(ctx context.Context, id int64, w io.Writer) error
	// WriteRecord streams the draw record as JSON (draw.Record); ENOTFOUND for a draft.
	WriteRecord(ctx context.Context, id int64, w io.Writer) error
}

// PublicCampaign is a committed campaign as the public sees it.
type PublicCampaign struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Status         string `json:"status"`
	WindowStart    string `json:"window_start"`
	WindowEnd      string `json:"window_end"`
	ManifestDigest string `json:"manifest_digest"`
	PopulationSize int    `json:"population_size"`
	Seed           string `json:"seed,omitempty"`
}

// CheckItem is the JSON form of a check-item version.
type CheckItem struct {
	ID           int64      `json:"id"`
	DepartmentID int64      `json:"department_id"`
	Code         string     `json:"code"`
	Version      int        `json:"version"`
	Title        string     `json:"title"`
	LegalBasis   string     `json:"legal_basis"`
	AnswerType   string     `json:"answer_type"`
	CreatedAt    time.Time  `json:"created_at"`
	RetiredAt    *time.Time `json:"retired_at"`
}

func toCheckItem(it *server.CheckItem) CheckItem {
	return CheckItem{
		ID: it.ID, DepartmentID: it.DepartmentID, Code: it.Code, Version: it.Version, Title: it.Title,
		LegalBasis: it.LegalBasis, AnswerType: string(it.AnswerType), CreatedAt: it.CreatedAt, RetiredAt: it.RetiredAt,
	}
}

// CreateCheckItemRequest is the body of "POST /v1/check-items". An existing
// code gets its next version. DepartmentID defaults to the caller's;
// AnswerType to "compliance".
type CreateCheckItemRequest struct {
	DepartmentID int64  `json:"department_id"`
	Code         string `json:"code"`
	Title        string `json:"title"`
	LegalBasis   string `json:"legal_basis"`
	AnswerType   string `json:"answer_type"`
}

// handleCheckItemIndex handles "GET /v1/check-items" with ?department_id=
// and ?include_retired=true.
func (s *Server) handleCheckItemIndex(c echo.Context) error {
	dept, err := queryFilterID(c, "department_id")
	if err != nil {
		return err
	}
	includeRetired := false
	if v := c.QueryParam("include_retired"); v != "" {
		if includeRetired, err = strconv.ParseBool(v); err != nil {
			return server.Errorf(server.EINVALID, "include_retired须为true或false (include_retired must be true or false).")
		}
	}
	items, err := s.CheckItems.FindCheckItems(c.Request().Context(), dept, includeRetired)
	if err != nil {
		return err
	}
	out := List[CheckItem]{Items: make([]CheckItem, len(items)), Total: len(items)}
	for i, it := range items {
		out.Items[i] = toCheckItem(it)
	}
	return c.JSON(http.StatusOK, out)
}

// handleCheckItemCreate handles "POST /v1/check-items".
func (s *Server) handleCheckItemCreate(c echo.Context) error {
	var req CreateCheckItemRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	it := &server.CheckItem{
		DepartmentID: req.DepartmentID, Code: req.Code, Title: req.Title, LegalBasis: req.LegalBasis,
		AnswerType: server.AnswerType(req.AnswerType),
	}
	if err := s.CheckItems.CreateCheckItem(c.Request().Context(), it); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toCheckItem(it))
}

// handleCheckItemRetire handles "POST /v1/check-items/:id/retire".
func (s *Server) handleCheckItemRetire(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	it, err := s.CheckItems.RetireCheckItem(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCheckItem(it))
}

// Campaign is the JSON form of a campaign.
type Campaign struct {
	ID                      int64             `json:"id"`
	Name                    string            `json:"name"`
	Status                  string            `json:"status"`
	LeadDepartmentID        int64             `json:"lead_department_id"`
	DepartmentIDs           []int64           `json:"department_ids"`
	WindowStart             server.Date       `json:"window_start"`
	WindowEnd               server.Date       `json:"window_end"`
	Category                string            `json:"category"`
	Districts               []string          `json:"districts"`
	Ratio                   server.RatioTable `json:"ratio"`
	ExclusionMonths         int               `json:"exclusion_months"`
	InspectorsPerDepartment int               `json:"inspectors_per_department"`
	TargetsPerTeam          int               `json:"targets_per_team"`
	CheckItemIDs            []int64           `json:"check_item_ids"`
	RandomnessSources       []string          `json:"randomness_sources"`
	SourcesAvailableAt      *time.Time        `json:"sources_available_at"`
	Materials               []Materials       `json:"materials"`
	Contact                 *LeadContact      `json:"contact"`
	CreatedBy               int64             `json:"created_by"`
	CreatedAt               time.Time         `json:"created_at"`
	UpdatedAt               time.Time         `json:"updated_at"`
	CommittedAt             *time.Time        `json:"committed_at"`
	ManifestDigest          string            `json:"manifest_digest,omitempty"`
	PopulationSize          int               `json:"population_size"`
	RandomnessValues        []string          `json:"randomness_values"`
	Seed                    string            `json:"seed,omitempty"`
	DrawnAt                 *time.Time        `json:"drawn_at"`
	ConfirmDeadline         *time.Time        `json:"confirm_deadline"`
	TeamsDrawnAt            *time.Time        `json:"teams_drawn_at"`
	PacketsIssuedAt         *time.Time        `json:"packets_issued_at"`
}

// Materials is what one department asks the targets to prepare, in order.
type Materials struct {
	DepartmentID int64    `json:"department_id"`
	Items        []string `json:"items"`
}

// LeadContact is the lead department's office line printed on the letters:
// an office name and its office telephone (a mobile number is refused).
type LeadContact struct {
	Office string `json:"office"`
	Phone  string `json:"phone"`
}

func fromMaterials(ms *[]Materials) *[]server.CampaignMaterials {
	if ms == nil {
		return nil
	}
	out := make([]server.CampaignMaterials, len(*ms))
	for i, m := range *ms {
		out[i] = server.CampaignMaterials{DepartmentID: m.DepartmentID, Items: m.Items}
	}
	return &out
}

func fromContact(c *LeadContact) *server.LeadContact {
	if c == nil {
		return nil
	}
	return &server.LeadContact{Office: c.Office, Phone: c.Phone}
}

func toCampaign(c *server.Campaign) Campaign {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	materials := make([]Materials, len(c.Materials))
	for i, m := range c.Materials {
		materials[i] = Materials{DepartmentID: m.DepartmentID, Items: nonNil(m.Items)}
	}
	var contact *LeadContact
	if !c.Contact.IsZero() {
		contact = &LeadContact{Office: c.Contact.Office, Phone: c.Contact.Phone}
	}
	return Campaign{
		Materials: materials, Contact: contact,
		ID: c.ID, Name: c.Name, Status: string(c.Status), LeadDepartmentID: c.LeadDepartmentID,
		DepartmentIDs: c.DepartmentIDs, WindowStart: c.WindowStart, WindowEnd: c.WindowEnd, Category: c.Category,
		Districts: nonNil(c.Districts), Ratio: c.Ratio, ExclusionMonths: c.ExclusionMonths,
		InspectorsPerDepartment: c.InspectorsPerDepartment, TargetsPerTeam: c.TargetsPerTeam,
		CheckItemIDs: c.CheckItemIDs, RandomnessSources: nonNil(c.RandomnessSources),
		SourcesAvailableAt: c.SourcesAvailableAt, CreatedBy: c.CreatedBy,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CommittedAt: c.CommittedAt, ManifestDigest: c.ManifestDigest,
		PopulationSize: c.PopulationSize, RandomnessValues: nonNil(c.RandomnessValues), Seed: c.Seed,
		DrawnAt: c.DrawnAt, ConfirmDeadline: c.ConfirmDeadline, TeamsDrawnAt: c.TeamsDrawnAt,
		PacketsIssuedAt: c.PacketsIssuedAt,
	}
}

// CreateCampaignRequest is the body of "POST /v1/campaigns". Ratios are
// exact decimal strings ("0.15"); dates "YYYY-MM-DD". LeadDepartmentID
// defaults to a coordinator's own department, InspectorsPerDepartment to 2
// and TargetsPerTeam to 1. SourcesAvailableAt (RFC 3339) is the earliest
// time the named randomness sources can be known: required, after the
// commit; the draw is refused before it. Materials (per participating
// department, in order) are frozen into the manifest at commit; Contact is
// the lead department's office line printed on the letters.
type CreateCampaignRequest struct {
	Name                    string            `json:"name"`
	LeadDepartmentID        int64             `json:"lead_department_id"`
	DepartmentIDs           []int64           `json:"department_ids"`
	WindowStart             server.Date       `json:"window_start"`
	WindowEnd               server.Date       `json:"window_end"`
	Category                string            `json:"category"`
	Districts               []string          `json:"districts"`
	Ratio                   server.RatioTable `json:"ratio"`
	ExclusionMonths         int               `json:"exclusion_months"`
	InspectorsPerDepartment int               `json:"inspectors_per_department"`
	TargetsPerTeam          int               `json:"targets_per_team"`
	CheckItemIDs            []int64           `json:"check_item_ids"`
	RandomnessSources       []string          `json:"randomness_sources"`
	SourcesAvailableAt      *time.Time        `json:"sources_available_at"`
	Materials               []Materials       `json:"materials"`
	Contact                 *LeadContact      `json:"contact"`
}

// UpdateCampaignRequest is the body of "PATCH /v1/campaigns/:id"; an absent
// field is unchanged. The lead department never changes. After the commit
// only contact may change (it is not in the manifest); any other field is
// refused with conflict.
type UpdateCampaignRequest struct {
	Name                    *string            `json:"name"`
	DepartmentIDs           *[]int64           `json:"department_ids"`
	WindowStart             *server.Date       `json:"window_start"`
	WindowEnd               *server.Date       `json:"window_end"`
	Category                *string            `json:"category"`
	Districts               *[]string          `json:"districts"`
	Ratio                   *server.RatioTable `json:"ratio"`
	ExclusionMonths         *int               `json:"exclusion_months"`
	InspectorsPerDepartment *int               `json:"inspectors_per_department"`
	TargetsPerTeam          *int               `json:"targets_per_team"`
	CheckItemIDs            *[]int64           `json:"check_item_ids"`
	RandomnessSources       *[]string          `json:"randomness_sources"`
	SourcesAvailableAt      *time.Time         `json:"sources_available_at"`
	Materials               *[]Materials       `json:"materials"`
	Contact                 *LeadContact       `json:"contact"`
}

// DrawRequest is the body of "POST /v1/campaigns/:id/draw": the public
// randomness values, one per named source, in manifest order.
type DrawRequest struct {
	Randomness []string `json:"randomness"`
}

// Selection is the JSON form of a drawn target.
type Selection struct {
	CreditCode   string `json:"credit_code"`
	EnterpriseID int64  `json:"enterprise_id"`
	Stratum      string `json:"stratum"`
	Ticket       string `json:"ticket"`
	Kind         string `json:"kind"`
	Replaced     bool   `json:"replaced"`
}

// handleCampaignIndex handles "GET /v1/campaigns" with ?status=.
func (s *Server) handleCampaignIndex(c echo.Context) error {
	var f server.CampaignFilter
	var err error
	if f.Offset, f.Limit, err = pageParams(c); err != nil {
		return err
	}
	if v := queryFilterString(c, "status"); v != nil {
		st := server.CampaignStatus(*v)
		f.Status = &st
	}
	cs, n, err := s.Campaigns.FindCampaigns(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := List[Campaign]{Items: make([]Campaign, len(cs)), Total: n}
	for i, cp := range cs {
		out.Items[i] = toCampaign(cp)
	}
	return c.JSON(http.StatusOK, out)
}

// handleCampaignCreate handles "POST /v1/campaigns".
func (s *Server) handleCampaignCreate(c echo.Context) error {
	var req CreateCampaignRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cp := &server.Campaign{
		Name: req.Name, LeadDepartmentID: req.LeadDepartmentID, DepartmentIDs: req.DepartmentIDs,
		WindowStart: req.WindowStart, WindowEnd: req.WindowEnd, Category: req.Category, Districts: req.Districts,
		Ratio: req.Ratio, ExclusionMonths: req.ExclusionMonths, InspectorsPerDepartment: req.InspectorsPerDepartment,
		TargetsPerTeam: req.TargetsPerTeam, CheckItemIDs: req.CheckItemIDs, RandomnessSources: req.RandomnessSources,
		SourcesAvailableAt: req.SourcesAvailableAt,
	}
	if ms := fromMaterials(&req.Materials); ms != nil {
		cp.Materials = *ms
	}
	if ct := fromContact(req.Contact); ct != nil {
		cp.Contact = *ct
	}
	if err := s.Campaigns.CreateCampaign(c.Request().Context(), cp); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toCampaign(cp))
}

// handleCampaignView handles "GET /v1/campaigns/:id".
func (s *Server) handleCampaignView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cp, err := s.Campaigns.FindCampaignByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCampaign(cp))
}

// handleCampaignUpdate handles "PATCH /v1/campaigns/:id".
func (s *Server) handleCampaignUpdate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req UpdateCampaignRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cp, err := s.Campaigns.UpdateCampaign(c.Request().Context(), id, server.CampaignUpdate{
		Name: req.Name, DepartmentIDs: req.DepartmentIDs, WindowStart: req.WindowStart, WindowEnd: req.WindowEnd,
		Category: req.Category, Districts: req.Districts, Ratio: req.Ratio, ExclusionMonths: req.ExclusionMonths,
		InspectorsPerDepartment: req.InspectorsPerDepartment, TargetsPerTeam: req.TargetsPerTeam,
		CheckItemIDs: req.CheckItemIDs, RandomnessSources: req.RandomnessSources,
		SourcesAvailableAt: req.SourcesAvailableAt, Materials: fromMaterials(req.Materials), Contact: fromContact(req.Contact),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCampaign(cp))
}

// handleCampaignCommit handles "POST /v1/campaigns/:id/commit".
func (s *Server) handleCampaignCommit(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cp, err := s.Campaigns.CommitCampaign(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCampaign(cp))
}

// handleCampaignDraw handles "POST /v1/campaigns/:id/draw".
func (s *Server) handleCampaignDraw(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req DrawRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cp, err := s.Campaigns.Draw(c.Request().Context(), id, req.Randomness)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCampaign(cp))
}

// handleSelectionIndex handles "GET /v1/campaigns/:id/selections".
func (s *Server) handleSelectionIndex(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sel, err := s.Campaigns.FindSelections(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := List[Selection]{Items: make([]Selection, len(sel)), Total: len(sel)}
	for i, x := range sel {
		out.Items[i] = Selection{
			CreditCode: x.CreditCode, EnterpriseID: x.EnterpriseID, Stratum: x.Stratum, Ticket: x.Ticket,
			Kind: x.Kind, Replaced: x.Replaced,
		}
	}
	return c.JSON(http.StatusOK, out)
}

// handlePublicCampaignIndex handles "GET /public/campaigns": committed
// campaigns and their digests, for anyone.
func (s *Server) handlePublicCampaignIndex(c echo.Context) error {
	cs, err := s.Public.FindPublicCampaigns(c.Request().Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []PublicCampaign{}
	}
	return c.JSON(http.StatusOK, List[PublicCampaign]{Items: cs, Total: len(cs)})
}

// handlePublicManifest handles "GET /public/campaigns/:id/manifest": the
// exact canonical bytes whose SHA-256 is the published digest. It is plain
// text to read and hash, not a spreadsheet: it is served inline under a .txt
// name, never sniffed, so that a browser shows it rather than a spreadsheet
// program opening it.
func (s *Server) handlePublicManifest(c echo.Context) error {
	return s.streamPublic(c, "text/plain; charset=utf-8", "manifest.txt", s.Public.WriteManifest)
}

// handlePublicRecord handles "GET /public/campaigns/:id/record": the draw
// record that `spotcheck verify draw` re-computes.
func (s *Server) handlePublicRecord(c echo.Context) error {
	return s.streamPublic(c, echo.MIMEApplicationJSONCharsetUTF8, "", s.Public.WriteRecord)
}

// streamPublic streams write's output as contentType. Headers go out with the
// first byte, so an error before it (ENOTFOUND for a draft) still gets its
// proper status; one after it can only cut the response short.
//
// A name (such as "manifest.txt") serves the body inline under the file name
// campaign-ID-name.
func (s *Server) streamPublic(c echo.Context, contentType, name string, write func(context.Context, int64, io.Writer) error) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w := &lazyWriter{c: c, contentType: contentType, rc: http.NewResponseController(c.Response()), timeout: s.PublicWriteTimeout}
	if name != "" {
		w.disposition = fmt.Sprintf(`inline; filename="campaign-%d-%s"`, id, name)
	}
	// The deadline each write sets must not outlive the response: the
	// connection may carry a long poll next.
	defer w.rc.SetWriteDeadline(time.Time{})
	err = write(c.Request().Context(), id, w)
	if err != nil && w.started {
		s.Logger.WarnContext(c.Request().Context(), "public record cut short", "route", c.Path(), "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if !w.started {
		w.start()
	}
	return nil
}

// lazyWriter writes the status and headers on the first Write. Each Write
// must reach the client within timeout (when positive), so a reader that
// stops reading frees the handler instead of holding it for ever.
type lazyWriter struct {
	c           echo.Context
	contentType string
	disposition string // Content-Disposition, if any
	started     bool
	rc          *http.ResponseController
	timeout     time.Duration
}

func (w *lazyWriter) start() {
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, w.contentType)
	if w.disposition != "" {
		h.Set(echo.HeaderContentDisposition, w.disposition)
	}
	w.c.Response().WriteHeader(http.StatusOK)
	w.started = true
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.start()
	}
	if w.timeout > 0 {
		// Not every ResponseWriter supports deadlines (httptest's does not);
		// then the write is unbounded, as before.
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.c.Response().Write(p)
}
