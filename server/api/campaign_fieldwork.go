package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/pdf"
	"github.com/spotcheck/spotcheck/server/report"
)

// campaignFieldworkRoutes: confirmations, replacements, teams, packets and
// grouping reports (mounted at /v1).
func (s *Server) campaignFieldworkRoutes(g *echo.Group) {
	g.POST("/campaigns/:id/confirm", s.handleCampaignConfirm, allow(adminOnly))
	g.GET("/campaigns/:id/confirmations", s.handleCampaignConfirmations, allow(staffOnly))
	g.POST("/campaigns/:id/replacements", s.handleCampaignReplace, allow(staffOnly))
	g.GET("/campaigns/:id/replacements", s.handleCampaignReplacements, allow(staffOnly))
	g.POST("/campaigns/:id/teams", s.handleCampaignDrawTeams, allow(coordinators))
	g.GET("/campaigns/:id/teams", s.handleCampaignTeams, allow(staffOnly))
	g.POST("/campaigns/:id/packets", s.handleCampaignIssuePackets, allow(coordinators))
	g.GET("/campaigns/:id/packets", s.handleCampaignPackets, allow(staffOnly))
	g.GET("/packets/:id", s.handlePacketView, allow(anyRole))
	g.GET("/packets/:id/record", s.handlePacketRecord, allow(anyRole))
	g.GET("/packets/:id/record.pdf", s.handlePacketRecordPDF, allow(anyRole))
	g.GET("/campaigns/:id/grouping-report", s.handleGroupingReport, allow(staffOnly))
	g.GET("/campaigns/:id/letters.pdf", s.handleCampaignLetters, allow(staffOnly))
	g.POST("/campaigns/:id/grouping-report/filing", s.handleGroupingFile, allow(adminOnly))
	g.GET("/campaigns/:id/grouping-report/filings", s.handleGroupingFilings, allow(staffOnly))
	g.GET("/campaigns/:id/recusal-openings", s.handleRecusalOpenings, allow(coordinators))
}

// RecusalOpenings is the body of "GET /v1/campaigns/:id/recusal-openings":
// what an auditor passes to "spotcheck verify draw --recusals FILE".
type RecusalOpenings struct {
	CampaignID int64            `json:"campaign_id"`
	Openings   []RecusalOpening `json:"openings"`
}

// RecusalOpening opens one recusal commitment (the JSON of draw.RecusalOpening).
type RecusalOpening struct {
	Certificate string `json:"certificate"`
	CreditCode  string `json:"credit_code"`
	Salt        string `json:"salt"`
	Late        bool   `json:"late"`
}

// handleRecusalOpenings handles "GET /v1/campaigns/:id/recusal-openings": the
// recusal pairs and salts behind the public commitments, for platform admins
// and the lead coordinator acting as auditors.
func (s *Server) handleRecusalOpenings(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	fw := s.Campaigns
	os, err := fw.FindRecusalOpenings(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := RecusalOpenings{CampaignID: id, Openings: make([]RecusalOpening, len(os))}
	for i, o := range os {
		out.Openings[i] = RecusalOpening{Certificate: o.Certificate, CreditCode: o.CreditCode, Salt: o.Salt, Late: o.Late}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// departmentsByID returns every department by id, to name departments in responses.
func (s *Server) departmentsByID(c echo.Context) (map[int64]*server.Department, error) {
	ds, err := s.Departments.FindDepartments(c.Request().Context())
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*server.Department, len(ds))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, nil
}

// DepartmentChoice is the optional body of the confirm and filing routes: a
// platform admin names the department they act for; a department admin may
// leave it out.
type DepartmentChoice struct {
	DepartmentID *int64 `json:"department_id"`
}

// Validate checks a named department id is positive.
func (r *DepartmentChoice) Validate() error {
	if r.DepartmentID != nil && *r.DepartmentID <= 0 {
		return server.Errorf(server.EINVALID, "department_id须为正整数 (department_id must be a positive integer).")
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for a body that may be absent altogether.
func decodeOptionalJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return jsonError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return decodeJSON(c, v)
}

// Confirmation is a participating department's confirmation of the targets.
type Confirmation struct {
	DepartmentID   int64      `json:"department_id"`
	DepartmentCode string     `json:"department_code"`
	DepartmentName string     `json:"department_name"`
	ConfirmedBy    *int64     `json:"confirmed_by"`
	ConfirmedAt    *time.Time `json:"confirmed_at"`
	Overdue        bool       `json:"overdue"`
}

// ConfirmationList is the body of "GET /v1/campaigns/:id/confirmations".
type ConfirmationList struct {
	ConfirmDeadline *time.Time     `json:"confirm_deadline"`
	Items           []Confirmation `json:"items"`
	// Reopenings are confirmations withdrawn by a later replacement, oldest first.
	Reopenings []ConfirmationReopening `json:"reopenings"`
}

// ConfirmationReopening is a confirmation a replacement after it withdrew.
type ConfirmationReopening struct {
	DepartmentID   int64     `json:"department_id"`
	DepartmentCode string    `json:"department_code"`
	ConfirmedBy    int64     `json:"confirmed_by"`
	ConfirmedAt    time.Time `json:"confirmed_at"`
	ReplacementSeq int       `json:"replacement_seq"`
	ReopenedBy     int64     `json:"reopened_by"`
	ReopenedAt     time.Time `json:"reopened_at"`
	Reason         string    `json:"reason"`
}

func toConfirmation(cf *server.Confirmation, depts map[int64]*server.Department) Confirmation {
	out := Confirmation{DepartmentID: cf.DepartmentID, ConfirmedBy: cf.ConfirmedBy, ConfirmedAt: cf.ConfirmedAt, Overdue: cf.Overdue}
	if d := depts[cf.DepartmentID]; d != nil {
		out.DepartmentCode, out.DepartmentName = d.Code, d.Name
	}
	return out
}

// handleCampaignConfirm handles "POST /v1/campaigns/:id/confirm" with an
// optional body {department_id}.
func (s *Server) handleCampaignConfirm(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req DepartmentChoice
	if err := decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	fw := s.Campaigns
	cf, err := fw.ConfirmTargetsFor(c.Request().Context(), id, req.DepartmentID)
	if err != nil {
		return err
	}
	depts, err := s.departmentsByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toConfirmation(cf, depts))
}

// handleCampaignConfirmations handles "GET /v1/campaigns/:id/confirmations".
func (s *Server) handleCampaignConfirmations(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	fw := s.Campaigns
	st, err := fw.FindConfirmationStatus(c.Request().Context(), id)
	if err != nil {
		return err
	}
	depts, err := s.departmentsByID(c)
	if err != nil {
		return err
	}
	out := ConfirmationList{ConfirmDeadline: st.ConfirmDeadline, Items: make([]Confirmation, len(st.Confirmations))}
	for i, cf := range st.Confirmations {
		out.Items[i] = toConfirmation(cf, depts)
	}
	out.Reopenings = make([]ConfirmationReopening, len(st.Reopenings))
	for i, r := range st.Reopenings {
		out.Reopenings[i] = ConfirmationReopening{
			DepartmentID: r.DepartmentID, ConfirmedBy: r.ConfirmedBy, ConfirmedAt: r.ConfirmedAt,
			ReplacementSeq: r.ReplacementSeq, ReopenedBy: r.ReopenedBy, ReopenedAt: r.ReopenedAt, Reason: r.Reason,
		}
		if d := depts[r.DepartmentID]; d != nil {
			out.Reopenings[i].DepartmentCode = d.Code
		}
	}
	return c.JSON(http.StatusOK, out)
}

// ReplaceTargetRequest is the body of "POST /v1/campaigns/:id/replacements".
type ReplaceTargetRequest struct {
	CreditCode string `json:"credit_code"`
	Reason     string `json:"reason"`
}

// Validate checks the request names a target and a reason.
func (r *ReplaceTargetRequest) Validate() error {
	switch {
	case r.CreditCode == "":
		return server.Errorf(server.EINVALID, "须指定被替补企业的统一社会信用代码 (credit_code required).")
	case strings.TrimSpace(r.Reason) == "":
		return server.Errorf(server.EINVALID, "须填写替补理由 (reason required).")
	}
	return nil
}

// Replacement is an append-only replacement of a target.
type Replacement struct {
	Seq             int       `json:"seq"`
	ReplacedCode    string    `json:"replaced_code"`
	ReplacementCode string    `json:"replacement_code"`
	Reason          string    `json:"reason"`
	DepartmentID    *int64    `json:"department_id"`
	CreatedBy       int64     `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
}

func toReplacement(r *server.Replacement) Replacement {
	return Replacement{
		Seq: r.Seq, ReplacedCode: r.ReplacedCode, ReplacementCode: r.ReplacementCode, Reason: r.Reason,
		DepartmentID: r.DepartmentID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
	}
}

// handleCampaignReplace handles "POST /v1/campaigns/:id/replacements".
func (s *Server) handleCampaignReplace(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ReplaceTargetRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.Campaigns.ReplaceTarget(c.Request().Context(), id, req.CreditCode, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toReplacement(r))
}

// handleCampaignReplacements handles "GET /v1/campaigns/:id/replacements".
func (s *Server) handleCampaignReplacements(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	rs, err := s.Campaigns.FindReplacements(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := List[Replacement]{Items: make([]Replacement, len(rs)), Total: len(rs)}
	for i, r := range rs {
		out.Items[i] = toReplacement(r)
	}
	return c.JSON(http.StatusOK, out)
}

// Team is a joint team with its members and targets.
type Team struct {
	Number  int          `json:"number"`
	Members []TeamMember `json:"members"`
	Targets []string     `json:"targets"` // credit codes, in match order
}

// TeamMember is an inspector in a team. Phone is empty unless the caller may
// read it (that department's admins, the lead coordinator, platform admins).
type TeamMember struct {
	InspectorID       int64  `json:"inspector_id"`
	DepartmentID      int64  `json:"department_id"`
	Department        string `json:"department"`
	Name              string `json:"name"`
	CertificateNumber string `json:"certificate_number"`
	Phone             string `json:"phone,omitempty"`
	Ticket            string `json:"ticket"`
}

func (s *Server) renderTeams(c echo.Context, status int, teams []*server.Team) error {
	depts, err := s.departmentsByID(c)
	if err != nil {
		return err
	}
	out := List[Team]{Items: make([]Team, len(teams)), Total: len(teams)}
	for i, t := range teams {
		jt := Team{Number: t.Number, Members: make([]TeamMember, len(t.Members)), Targets: t.Targets}
		if jt.Targets == nil {
			jt.Targets = []string{}
		}
		for j, m := range t.Members {
			jm := TeamMember{
				InspectorID: m.InspectorID, DepartmentID: m.DepartmentID, Name: m.Name,
				CertificateNumber: m.CertificateNumber, Phone: m.Phone, Ticket: m.Ticket,
			}
			if d := depts[m.DepartmentID]; d != nil {
				jm.Department = d.Code
			}
			jt.Members[j] = jm
		}
		out.Items[i] = jt
	}
	return c.JSON(status, out)
}

// handleCampaignDrawTeams handles "POST /v1/campaigns/:id/teams". It takes no body.
func (s *Server) handleCampaignDrawTeams(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	teams, err := s.Campaigns.DrawTeams(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.renderTeams(c, http.StatusCreated, teams)
}

// handleCampaignTeams handles "GET /v1/campaigns/:id/teams".
func (s *Server) handleCampaignTeams(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	teams, err := s.Campaigns.FindTeams(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.renderTeams(c, http.StatusOK, teams)
}

// Packet is a joint inspection packet (一企一表).
type Packet struct {
	ID           string               `json:"id"`
	CampaignID   int64                `json:"campaign_id"`
	CreditCode   string               `json:"credit_code"`
	EnterpriseID int64                `json:"enterprise_id"`
	TeamNumber   int                  `json:"team_number"`
	Version      int                  `json:"version"`
	Content      server.PacketContent `json:"content"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

func toPacket(p *server.Packet) Packet {
	out := Packet{
		ID: p.ID, CampaignID: p.CampaignID, CreditCode: p.CreditCode, EnterpriseID: p.EnterpriseID,
		TeamNumber: p.TeamNumber, Version: p.Version, Content: p.Content, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if out.Content.Team == nil {
		out.Content.Team = []server.PacketMember{}
	}
	if out.Content.Sections == nil {
		out.Content.Sections = []server.PacketSection{}
	}
	return out
}

func renderPackets(c echo.Context, status int, ps []*server.Packet) error {
	out := List[Packet]{Items: make([]Packet, len(ps)), Total: len(ps)}
	for i, p := range ps {
		out.Items[i] = toPacket(p)
	}
	return c.JSON(status, out)
}

// handleCampaignIssuePackets handles "POST /v1/campaigns/:id/packets". It
// takes no body; calling it again returns the same packets.
func (s *Server) handleCampaignIssuePackets(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ps, err := s.Campaigns.IssuePackets(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return renderPackets(c, http.StatusOK, ps)
}

// handleCampaignPackets handles "GET /v1/campaigns/:id/packets".
func (s *Server) handleCampaignPackets(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ps, err := s.Campaigns.FindPackets(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return renderPackets(c, http.StatusOK, ps)
}

// handlePacketView handles "GET /v1/packets/:id": staff of a participating
// department, or an inspector of the packet's team.
func (s *Server) handlePacketView(c echo.Context) error {
	id := c.Param("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return server.Errorf(server.ENOTFOUND, "检查包不存在 (packet not found).")
	}
	fw := s.Campaigns
	p, err := fw.FindPacketByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPacket(p))
}

// handlePacketRecord handles "GET /v1/packets/:id/record": the packet's
// assembled joint record (its sealed sections, closes and flags), for whoever
// may read the packet.
func (s *Server) handlePacketRecord(c echo.Context) error {
	id := c.Param("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return server.Errorf(server.ENOTFOUND, "检查包不存在 (packet not found).")
	}
	jr, err := s.Sync.FindJointRecord(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, jr)
}

// Report formats.
const (
	formatCSV  = "csv"
	formatXLSX = "xlsx"
	formatPDF  = "pdf"
)

// handleGroupingReport handles "GET /v1/campaigns/:id/grouping-report" with
// ?format=csv|xlsx|pdf (default csv) and ?department_id=.
func (s *Server) handleGroupingReport(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = formatCSV
	}
	if format != formatCSV && format != formatXLSX && format != formatPDF {
		return server.Errorf(server.EINVALID, "format须为csv、xlsx或pdf (format must be csv, xlsx or pdf).")
	}
	dept, err := queryFilterID(c, "department_id")
	if err != nil {
		return err
	}
	fw := s.Campaigns
	rep, err := fw.FindGroupingReport(c.Request().Context(), id, dept)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	name := "grouping-" + c.Param("id")
	if dept != nil && len(rep.Sections) == 1 {
		name += "-" + rep.Sections[0].DepartmentCode
	}
	ctype := report.MediaTypeCSV
	switch format {
	case formatCSV:
		err = report.WriteGroupingCSV(&buf, rep)
	case formatXLSX:
		err = report.WriteGroupingXLSX(&buf, rep)
		ctype = report.MediaTypeXLSX
	case formatPDF:
		err = pdf.WriteGrouping(&buf, rep)
		ctype = mimePDF
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+"."+format+`"`)
	h.Set("Cache-Control", "no-store") // names and phones
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// GroupingFiling records that a department filed its grouping report.
type GroupingFiling struct {
	ID             int64     `json:"id"`
	CampaignID     int64     `json:"campaign_id"`
	DepartmentID   int64     `json:"department_id"`
	DepartmentCode string    `json:"department_code"`
	ReportSHA256   string    `json:"report_sha256"`
	FiledBy        int64     `json:"filed_by"`
	FiledAt        time.Time `json:"filed_at"`
}

func toGroupingFiling(f *server.GroupingFiling, depts map[int64]*server.Department) GroupingFiling {
	out := GroupingFiling{
		ID: f.ID, CampaignID: f.CampaignID, DepartmentID: f.DepartmentID, ReportSHA256: f.ReportSHA256,
		FiledBy: f.FiledBy, FiledAt: f.FiledAt,
	}
	if d := depts[f.DepartmentID]; d != nil {
		out.DepartmentCode = d.Code
	}
	return out
}

// handleGroupingFile handles "POST /v1/campaigns/:id/grouping-report/filing"
// with an optional body {department_id}: it records the SHA-256 of the
// department's grouping report CSV as it is now.
func (s *Server) handleGroupingFile(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req DepartmentChoice
	if err := decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	u := server.UserFromContext(c.Request().Context())
	if req.DepartmentID == nil && u.Role == server.RolePlatformAdmin {
		return server.Errorf(server.EINVALID, "须指定部门 (department_id required).")
	}
	dept := req.DepartmentID
	if dept == nil {
		dept = u.DepartmentID
	}
	fw := s.Campaigns
	ctx := c.Request().Context()
	rep, err := fw.FindGroupingReport(ctx, id, dept)
	if err != nil {
		return err
	}
	if len(rep.Sections) != 1 {
		return errors.New("grouping report for one department has several sections")
	}
	sum, err := report.GroupingCSVSHA256(rep)
	if err != nil {
		return err
	}
	f, err := fw.FileGroupingReportFor(ctx, id, &rep.Sections[0].DepartmentID, sum)
	if err != nil {
		return err
	}
	depts, err := s.departmentsByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toGroupingFiling(f, depts))
}

// handleGroupingFilings handles "GET /v1/campaigns/:id/grouping-report/filings".
func (s *Server) handleGroupingFilings(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	fs, err := s.Campaigns.FindGroupingFilings(c.Request().Context(), id)
	if err != nil {
		return err
	}
	depts, err := s.departmentsByID(c)
	if err != nil {
		return err
	}
	out := List[GroupingFiling]{Items: make([]GroupingFiling, len(fs)), Total: len(fs)}
	for i, f := range fs {
		out.Items[i] = toGroupingFiling(f, depts)
	}
	return c.JSON(http.StatusOK, out)
}
