package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/pdf"
)

// Printed documents (server/pdf): A4 PDFs in Chinese, with the reader's
// authority: a document holds only what its reader may read.

const mimePDF = "application/pdf"

// printSources returns the services documents are read through.
func (s *Server) printSources() *pdf.Sources {
	return &pdf.Sources{Campaigns: s.Campaigns, Sync: s.Sync, Blobs: s.Blobs, Departments: s.Departments, Letters: s.Letters, PublicURL: s.PublicURL}
}

// handlePacketRecordPDF handles "GET /v1/packets/:id/record.pdf": the joint
// inspection record (一企一表) as sealed, for whoever may read the packet.
func (s *Server) handlePacketRecordPDF(c echo.Context) error {
	id := c.Param("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return server.Errorf(server.ENOTFOUND, "检查包不存在 (packet not found).")
	}
	r, err := s.printSources().LoadRecord(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pdf.WriteRecord(&buf, r); err != nil {
		return err
	}
	return sendPDF(c, "record-"+id+".pdf", buf.Bytes())
}

// handleCampaignLetters handles "GET /v1/campaigns/:id/letters.pdf": the
// notification letters (告知书) of every target in one PDF, or with
// ?target=CREDIT one target's. The contact line is the campaign's (set with
// PATCH /v1/campaigns/:id); a ?contact= override is refused: an official
// letter prints only what the lead department recorded.
func (s *Server) handleCampaignLetters(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	target := c.QueryParam("target")
	if c.QueryParams().Has("contact") {
		return server.Errorf(server.EINVALID, "联系方式须在抽查任务中设置（PATCH /v1/campaigns/:id 的contact），不能在打印时指定 (the contact line is set on the campaign, PATCH /v1/campaigns/:id contact, not when printing).")
	}
	l, err := s.printSources().LoadLetters(c.Request().Context(), id, target)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pdf.WriteLetters(&buf, l); err != nil {
		return err
	}
	name := fmt.Sprintf("letters-%d.pdf", id)
	if target != "" {
		name = fmt.Sprintf("letter-%d-%s.pdf", id, target)
	}
	return sendPDF(c, name, buf.Bytes())
}

// sendPDF sends a document as an attachment, never cached: documents hold
// names, signatures and photos.
func sendPDF(c echo.Context, name string, b []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, mimePDF, b)
}
