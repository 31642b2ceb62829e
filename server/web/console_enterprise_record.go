package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// enterpriseRecordData is an enterprise's record (归集到市场主体名下): its
// approved results across campaigns, as GET /v1/enterprises/:id/inspections.
type enterpriseRecordData struct {
	Enterprise  *server.Enterprise // nil when the directory entry is not the user's to see
	ID          int64
	Inspections []server.EnterpriseInspection
	Abnormal    bool
}

// handleEnterpriseInspections handles "GET /console/enterprises/:id/inspections".
func (p *Pages) handleEnterpriseInspections(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	ins, err := p.Results.FindEnterpriseInspections(ctx, id)
	if err != nil {
		return err
	}
	d := enterpriseRecordData{ID: id, Inspections: ins}
	if e, err := p.Enterprises.FindEnterpriseByID(ctx, id); err == nil {
		d.Enterprise = e
	} else if server.ErrorCode(err) != server.ENOTFOUND && server.ErrorCode(err) != server.EFORBIDDEN {
		return err
	}
	for _, in := range ins {
		d.Abnormal = d.Abnormal || in.AbnormalOperationsCandidate
	}
	return p.render(c, http.StatusOK, "enterprise_record", &page{Title: "企业检查记录", Data: d})
}
