package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// The audit chain's state, for platform admins: the head, a verification
// on demand and the latest events.

// auditRecent is how many events the page lists.
const auditRecent = 50

type auditData struct {
	HeadSeq  int64
	HeadHash string
	Verified *server.AuditReport // after "verify now"
	Events   []*server.AuditEvent
	Actors   map[int64]string
	Depts    map[int64]string
}

// handleAudit handles "GET /console/audit[?verify=1]" (as GET
// /v1/audit/head and, with verify, GET /v1/audit/verify).
func (p *Pages) handleAudit(c echo.Context) error {
	ctx := c.Request().Context()
	var d auditData
	var err error
	if d.HeadSeq, d.HeadHash, err = p.Audit.AuditHead(ctx); err != nil {
		return err
	}
	if c.QueryParam("verify") == "1" {
		if d.Verified, err = p.Audit.VerifyAudit(ctx, nil); err != nil {
			return err
		}
	}
	if d.Events, err = p.Audit.RecentAuditEvents(ctx, auditRecent); err != nil {
		return err
	}
	d.Actors = map[int64]string{}
	for _, e := range d.Events {
		if e.ActorID == nil {
			continue
		}
		if _, ok := d.Actors[*e.ActorID]; ok {
			continue
		}
		name := "#" + strconv.FormatInt(*e.ActorID, 10)
		if u, err := p.Users.FindUserByID(ctx, *e.ActorID); err == nil {
			name = u.Username
		}
		d.Actors[*e.ActorID] = name
	}
	if d.Depts, _, err = p.departmentNames(c); err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "audit", &page{Title: "审计链", Data: d})
}

func init() {
	funcs["deref"] = func(p *int64) int64 { return *p }
	funcs["actorRole"] = func(s string) string {
		if s == server.AuditSystemRole || s == "" {
			return "系统"
		}
		return roleLabel(server.Role(s))
	}
}
