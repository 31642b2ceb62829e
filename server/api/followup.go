package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// deptAdmins assign follow-ups and close them: a department's admin.
var deptAdmins = []server.Role{server.RoleDepartmentAdmin}

// followUpRoutes: follow-up tasks after approval and the abnormal
// operations list candidates (mounted at /v1). Bodies are limited per
// route: evidence is an image up to syncproto.MaxAttachmentBytes.
func (s *Server) followUpRoutes(v1 *echo.Group) {
	body := middleware.BodyLimit(sizeString(DefaultBodyLimit))
	g := v1.Group("/followups")
	g.GET("", s.handleFollowUps, allow(anyRole))
	g.GET("/:id", s.handleFollowUpView, allow(anyRole))
	g.POST("/:id/assign", s.handleFollowUpAssign, body, allow(deptAdmins))
	g.POST("/:id/start", s.followUpAction(server.FollowUpActionStart), body, allow(deptStaff))
	g.POST("/:id/actions", s.followUpAction(server.FollowUpActionNote), body, allow(deptStaff))
	g.POST("/:id/request-closure", s.followUpAction(server.FollowUpActionRequestClosure), body, allow(deptStaff))
	g.POST("/:id/refuse", s.followUpAction(server.FollowUpActionRefuse), body, allow(deptAdmins))
	g.POST("/:id/close", s.followUpAction(server.FollowUpActionClose), body, allow(deptAdmins))
	g.POST("/:id/evidence", s.handleFollowUpEvidence, allow(deptStaff),
		middleware.BodyLimit(sizeString(int64(syncproto.MaxAttachmentBytes))), s.requireFreeDisk)
	g.GET("/:id/evidence", s.handleFollowUpEvidenceGet, allow(anyRole))
	v1.GET("/abnormal-operations/candidates", s.handleAbnormalCandidates, allow(staffOnly))
}

// FollowUpList is the answer of "GET /v1/followups".
type FollowUpList struct {
	FollowUps []server.FollowUp `json:"followups"`
}

// EvidenceUploaded is the answer of "POST /v1/followups/:id/evidence".
type EvidenceUploaded struct {
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

// AbnormalCandidates is the answer of "GET /v1/abnormal-operations/candidates".
type AbnormalCandidates struct {
	Candidates []server.AbnormalCandidate `json:"candidates"`
}

// handleFollowUps handles "GET /v1/followups?campaign_id=&state=&overdue=true".
func (s *Server) handleFollowUps(c echo.Context) error {
	var f server.FollowUpFilter
	if v := c.QueryParam("campaign_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return server.Errorf(server.EINVALID, "campaign_id须为正整数 (campaign_id must be a positive integer).")
		}
		f.CampaignID = &id
	}
	if v := c.QueryParam("state"); v != "" {
		f.State = &v
	}
	switch c.QueryParam("overdue") {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		return server.Errorf(server.EINVALID, "overdue须为true或false (overdue must be true or false).")
	}
	out, err := s.FollowUps.FindFollowUps(c.Request().Context(), f)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, FollowUpList{FollowUps: out})
}

func (s *Server) handleFollowUpView(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := s.FollowUps.FindFollowUpByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, f)
}

// FollowUpAssign is the body of "POST /v1/followups/:id/assign".
type FollowUpAssign struct {
	AssigneeID int64 `json:"assignee_id"`
}

func (s *Server) handleFollowUpAssign(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req FollowUpAssign
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	f, err := s.FollowUps.AssignFollowUp(c.Request().Context(), id, req.AssigneeID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

// FollowUpEntry is the body of "POST /v1/followups/:id/{start,actions,
// request-closure,refuse,close}": text (required for actions,
// request-closure and refuse) and the SHA-256 of evidence uploaded to the
// task with "POST /v1/followups/:id/evidence".
type FollowUpEntry struct {
	Text     string   `json:"text"`
	Evidence []string `json:"evidence"`
}

func (s *Server) followUpAction(action server.FollowUpAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var req FollowUpEntry
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		f, err := s.FollowUps.ActOnFollowUp(c.Request().Context(), id, action, server.FollowUpEntry(req))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, f)
	}
}

// handleFollowUpEvidence handles "POST /v1/followups/:id/evidence": the body
// is one image (Content-Type image/jpeg or image/png), checked as field
// attachments are, stored in the blob store and recorded as evidence of
// the task. The answer names it by SHA-256, for the entries that cite it.
func (s *Server) handleFollowUpEvidence(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, err := s.AddFollowUpEvidence(c.Request().Context(), id, c.Request().Header.Get(echo.HeaderContentType), c.Request().Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, EvidenceUploaded{ContentType: b.ContentType, SHA256: b.SHA256, Size: b.Size})
}

// AddFollowUpEvidence stores body, an image of Content-Type contentType, as
// evidence of task id for the caller in ctx: the caller must be able to
// work the task (checked before anything is stored), the image must be a
// JPEG or PNG of at most syncproto.MaxAttachmentBytes, and its content is
// checked by the blob store as a field attachment's. The API's evidence
// route and the console's evidence form share it, so both apply one rule.
func (svc Services) AddFollowUpEvidence(ctx context.Context, id int64, contentType string, body io.Reader) (*server.Blob, error) {
	if err := svc.FollowUps.CanWork(ctx, id); err != nil {
		return nil, err
	}
	ct, _, err := mime.ParseMediaType(contentType)
	if err != nil || !syncproto.AttachmentType(ct) {
		return nil, server.Errorf(server.EUNSUPPORTED, "证据须为JPEG或PNG图片 (Content-Type must be image/jpeg or image/png).")
	}
	f, err := spool(svc.UploadDir, "evidence-*", body, syncproto.MaxAttachmentBytes)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Path) // moved into the blob store on success
	switch {
	case f.TooLarge:
		return nil, server.Errorf(server.ETOOLARGE, "证据图片最大%d字节 (evidence is at most %d bytes).", syncproto.MaxAttachmentBytes, syncproto.MaxAttachmentBytes)
	case f.Size == 0:
		return nil, server.Errorf(server.EINVALID, "证据图片为空 (the image is empty).")
	}
	b := &server.Blob{SHA256: f.SHA256, ContentType: ct}
	if err := svc.Blobs.AddBlob(ctx, f.Path, b); err != nil {
		return nil, err
	}
	if err := svc.FollowUps.AddEvidence(ctx, id, b.SHA256); err != nil {
		return nil, err
	}
	return b, nil
}

// handleFollowUpEvidenceGet handles "GET /v1/followups/:id/evidence?sha256=".
func (s *Server) handleFollowUpEvidenceGet(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, f, err := s.FollowUps.OpenEvidence(c.Request().Context(), id, c.QueryParam("sha256"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveUploaded(c, b, f, "private, no-store")
	return nil
}

// handleAbnormalCandidates handles "GET /v1/abnormal-operations/candidates".
func (s *Server) handleAbnormalCandidates(c echo.Context) error {
	out, err := s.FollowUps.FindAbnormalCandidates(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, AbnormalCandidates{Candidates: out})
}
