package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// auditRoutes: the audit chain's state, for platform admins (mounted at /v1/audit).
func (s *Server) auditRoutes(g *echo.Group) {
	g.GET("/head", s.handleAuditHead, allow(platform))
	g.GET("/verify", s.handleAuditVerify, allow(platform))
}

// AuditHead names the chain's latest event: seq 0 and 64 zeros while empty.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// AuditBreak is the first broken link a walk found.
type AuditBreak struct {
	Index   int64  `json:"index"` // position in the walk, from 0
	Seq     int64  `json:"seq"`
	Problem string `json:"problem"` // seq, prev_hash, hash or head
	Message string `json:"message"`
}

// AuditReport is the body of "GET /v1/audit/verify".
type AuditReport struct {
	OK    bool        `json:"ok"`
	Count int64       `json:"count"` // events verified (up to the break)
	Head  AuditHead   `json:"head"`  // the last verified event
	Break *AuditBreak `json:"break,omitempty"`
}

// handleAuditHead handles "GET /v1/audit/head".
func (s *Server) handleAuditHead(c echo.Context) error {
	seq, hash, err := s.Audit.AuditHead(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, AuditHead{Seq: seq, Hash: hash})
}

// handleAuditVerify handles "GET /v1/audit/verify[?head=SEQ:HASH]": it walks
// the whole chain and answers 200 either way, with ok false and the first
// broken link when the chain is not whole; with head, the chain must still
// hold that earlier head.
func (s *Server) handleAuditVerify(c echo.Context) error {
	var want *server.AuditCheckpoint
	if v := c.QueryParam("head"); v != "" {
		var err error
		if want, err = server.ParseAuditCheckpoint(v); err != nil {
			return err
		}
	}
	r, err := s.Audit.VerifyAudit(c.Request().Context(), want)
	if err != nil {
		return err
	}
	out := AuditReport{OK: r.OK(), Count: r.Count, Head: AuditHead{Seq: r.HeadSeq, Hash: r.HeadHash}}
	if b := r.Break; b != nil {
		out.Break = &AuditBreak{Index: b.Index, Seq: b.Seq, Problem: b.Problem, Message: b.Message}
	}
	return c.JSON(http.StatusOK, out)
}
