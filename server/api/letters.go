package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
)

// MaxProofBytes bounds a delivery proof: a scanned receipt of a page or two.
const MaxProofBytes = 10 << 20

// proofTypes are the content types a delivery proof may have.
var proofTypes = map[string]bool{"application/pdf": true, "image/jpeg": true, "image/png": true}

// letterRoutes: the delivery record of the notification letters (送达记录),
// mounted at /v1. The lead coordinators (and platform admins) record;
// staff of participating departments read.
func (s *Server) letterRoutes(v1 *echo.Group) {
	body := middleware.BodyLimit(sizeString(DefaultBodyLimit))
	g := v1.Group("/campaigns/:id/letters")
	g.POST("/deliveries", s.handleDeliveryCreate, body, allow(coordinators))
	g.GET("/deliveries", s.handleDeliveryIndex, allow(staffOnly))
	g.GET("/unserved", s.handleUnservedIndex, allow(staffOnly))
	g.POST("/proofs", s.handleProofCreate, allow(coordinators), middleware.BodyLimit(sizeString(MaxProofBytes)), s.requireFreeDisk)
	g.GET("/proofs", s.handleProofGet, allow(staffOnly))
}

// LetterDelivery is the JSON form of a delivery record. Version 1 is the
// target's first record; each later version is a correction with its
// reason; Current marks the newest.
type LetterDelivery struct {
	ID               int64       `json:"id"`
	CampaignID       int64       `json:"campaign_id"`
	CreditCode       string      `json:"credit_code"`
	Version          int         `json:"version"`
	DeliveredOn      server.Date `json:"delivered_on"`
	Method           string      `json:"method"`
	MethodLabel      string      `json:"method_label"`
	ProofSHA256      string      `json:"proof_sha256,omitempty"`
	Note             string      `json:"note"`
	CorrectionReason string      `json:"correction_reason,omitempty"`
	RecordedBy       int64       `json:"recorded_by"`
	RecordedAt       time.Time   `json:"recorded_at"`
	Current          bool        `json:"current"`
}

func toLetterDelivery(d *server.LetterDelivery) LetterDelivery {
	return LetterDelivery{
		ID: d.ID, CampaignID: d.CampaignID, CreditCode: d.CreditCode, Version: d.Version, DeliveredOn: d.DeliveredOn,
		Method: string(d.Method), MethodLabel: d.Method.Label(), ProofSHA256: d.ProofSHA256, Note: d.Note,
		CorrectionReason: d.CorrectionReason, RecordedBy: d.RecordedBy, RecordedAt: d.RecordedAt, Current: d.Current,
	}
}

// RecordDeliveryRequest is the body of "POST /v1/campaigns/:id/letters/deliveries".
// Method is in_person (直接送达), post (邮寄送达) or electronic (电子送达);
// DeliveredOn "YYYY-MM-DD" (Asia/Shanghai), from the day the letters were
// issued to today; ProofSHA256 names a proof uploaded to the campaign's
// letters first. Sending the current record again is answered 200 with it;
// a different record for a target already served is a correction and
// needs CorrectionReason (else 409 conflict).
type RecordDeliveryRequest struct {
	CreditCode       string      `json:"credit_code"`
	DeliveredOn      server.Date `json:"delivered_on"`
	Method           string      `json:"method"`
	ProofSHA256      string      `json:"proof_sha256"`
	Note             string      `json:"note"`
	CorrectionReason string      `json:"correction_reason"`
}

// UnservedTarget is a target whose letter has no delivery record yet.
type UnservedTarget struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
	Address    string `json:"address"`
	TeamNumber int    `json:"team_number"`
}

// LetterProof answers an uploaded proof.
type LetterProof struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

// handleDeliveryCreate handles "POST /v1/campaigns/:id/letters/deliveries":
// 201 with a new record, 200 with the current one when it is repeated.
func (s *Server) handleDeliveryCreate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req RecordDeliveryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d := &server.LetterDelivery{
		CampaignID: id, CreditCode: req.CreditCode, DeliveredOn: req.DeliveredOn, Method: server.DeliveryMethod(req.Method),
		ProofSHA256: req.ProofSHA256, Note: req.Note, CorrectionReason: req.CorrectionReason,
	}
	created, err := s.Letters.RecordDelivery(c.Request().Context(), d)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toLetterDelivery(d))
}

// handleDeliveryIndex handles "GET /v1/campaigns/:id/letters/deliveries"
// with ?credit_code=: every record, corrections included, by credit code
// then version.
func (s *Server) handleDeliveryIndex(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ds, err := s.Letters.FindDeliveries(c.Request().Context(), id, c.QueryParam("credit_code"))
	if err != nil {
		return err
	}
	out := List[LetterDelivery]{Items: make([]LetterDelivery, len(ds)), Total: len(ds)}
	for i, d := range ds {
		out.Items[i] = toLetterDelivery(d)
	}
	return c.JSON(http.StatusOK, out)
}

// handleUnservedIndex handles "GET /v1/campaigns/:id/letters/unserved": the
// targets whose letter has no delivery record, by credit code.
func (s *Server) handleUnservedIndex(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ts, err := s.Letters.FindUnservedTargets(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := List[UnservedTarget]{Items: make([]UnservedTarget, len(ts)), Total: len(ts)}
	for i, t := range ts {
		out.Items[i] = UnservedTarget{CreditCode: t.CreditCode, Name: t.Name, Address: t.Address, TeamNumber: t.TeamNumber}
	}
	return c.JSON(http.StatusOK, out)
}

// handleProofCreate handles "POST /v1/campaigns/:id/letters/proofs": the
// body is one scanned receipt (Content-Type application/pdf, image/jpeg or
// image/png, at most MaxProofBytes), checked against its bytes, stored in
// the blob store and recorded as a proof of the campaign's letters. The
// answer names it by SHA-256, for the delivery records that cite it.
func (s *Server) handleProofCreate(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, err := s.StoreLetterProof(c.Request().Context(), id, c.Request().Header.Get(echo.HeaderContentType), c.Request().Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, LetterProof{SHA256: b.SHA256, Size: b.Size, ContentType: b.ContentType})
}

// StoreLetterProof keeps body, a scanned delivery receipt of contentType
// (application/pdf, image/jpeg or image/png, at most MaxProofBytes), as a
// proof of the campaign's letters once the caller may record its
// deliveries and the bytes are what the type says: the one path of the
// API's proof route and the console's delivery form.
func (svc *Services) StoreLetterProof(ctx context.Context, campaignID int64, contentType string, body io.Reader) (*server.Blob, error) {
	if err := svc.Letters.CanRecordDeliveries(ctx, campaignID); err != nil {
		return nil, err
	}
	ct, _, err := mime.ParseMediaType(contentType)
	if err != nil || !proofTypes[ct] {
		return nil, server.Errorf(server.EUNSUPPORTED, "送达回证须为PDF、JPEG或PNG文件 (Content-Type must be application/pdf, image/jpeg or image/png).")
	}
	f, err := spool(svc.UploadDir, "proof-*", body, MaxProofBytes)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Path) // moved into the blob store on success
	switch {
	case f.TooLarge:
		return nil, server.Errorf(server.ETOOLARGE, "送达回证最大%d字节 (a proof is at most %d bytes).", MaxProofBytes, MaxProofBytes)
	case f.Size == 0:
		return nil, server.Errorf(server.EINVALID, "送达回证为空 (the file is empty).")
	}
	b := &server.Blob{SHA256: f.SHA256, ContentType: ct}
	if err := svc.Blobs.AddDocument(ctx, f.Path, b); err != nil {
		return nil, err
	}
	if err := svc.Letters.AddProof(ctx, campaignID, b.SHA256); err != nil {
		return nil, err
	}
	return b, nil
}

// handleProofGet handles "GET /v1/campaigns/:id/letters/proofs?sha256=".
func (s *Server) handleProofGet(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, f, err := s.Letters.OpenProof(c.Request().Context(), id, c.QueryParam("sha256"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveUploaded(c, b, f, "private, no-store")
	return nil
}
