package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/report"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Publication: the lead coordinator publishes a campaign's approved
// results (POST /v1/campaigns/:id/publication) and downloads the export for
// the national enterprise credit publicity system; the public reads them at
// /campaigns/:id/results.

// publicationsData is the list of campaigns to publish.
type publicationsData struct {
	Campaigns []*server.Campaign
}

// handlePublications handles "GET /console/publication".
func (p *Pages) handlePublications(c echo.Context) error {
	cs, _, err := p.Campaigns.FindCampaigns(c.Request().Context(), server.CampaignFilter{Limit: 200})
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "publications", &page{Title: "结果公示", Data: publicationsData{Campaigns: cs}})
}

// publicationData is a campaign's publication page.
type publicationData struct {
	Campaign *server.Campaign
	// Approved are the approved results the user may see; Pending those
	// not published yet (corrections among them).
	Approved, Pending []syncproto.Result
	// Publications, newest first: counts and the audit chain's head.
	Publications []server.Publication
	Published    int // entries in the public listing
}

// handlePublication handles "GET /console/campaigns/:id/publication".
func (p *Pages) handlePublication(c echo.Context) error {
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	return p.renderPublication(c, id, http.StatusOK, nil)
}

func (p *Pages) renderPublication(c echo.Context, id int64, status int, form *Form) error {
	ctx := c.Request().Context()
	camp, err := p.Campaigns.FindCampaignByID(ctx, id)
	if err != nil {
		return err
	}
	d := publicationData{Campaign: camp}
	if d.Approved, err = p.Results.FindApproved(ctx, id); err != nil {
		return err
	}
	for _, r := range d.Approved {
		if r.PublishedAt == nil {
			d.Pending = append(d.Pending, r)
		}
	}
	pub, err := p.Results.FindPublicCampaignResults(ctx, id)
	switch server.ErrorCode(err) {
	case "":
		d.Publications, d.Published = pub.Publications, len(pub.Results)
	case server.ENOTFOUND: // nothing published yet
	default:
		return err
	}
	if form == nil {
		form = newForm(nil)
	}
	return p.render(c, status, "publication", &page{Title: camp.Name + " · 结果公示", Data: d, Form: form})
}

// handlePublish handles "POST /console/campaigns/:id/publication": the
// flash gives the counts and the audit chain's head the service returns
// (its hash is in the page's list of publications).
func (p *Pages) handlePublish(c echo.Context) error {
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	pub, err := p.Results.Publish(c.Request().Context(), id)
	if err != nil {
		code := server.ErrorCode(err)
		if code == server.EINTERNAL {
			return err
		}
		form := newForm(nil)
		form.Message = errorText(err)
		return p.renderPublication(c, id, statusOf(code), form)
	}
	// The head itself is in the page's list of publications.
	p.setFlash(c, fmt.Sprintf("已公示 %d 条结果（其中更正 %d 条），公示前审计链头为第 %d 条", pub.Results, pub.Corrections, pub.AuditSeq))
	return c.Redirect(http.StatusSeeOther, "/console/campaigns/"+strconv.FormatInt(id, 10)+"/publication")
}

// handlePublicationExport handles "GET
// /console/campaigns/:id/publication-export?format=csv|xlsx", as GET
// /v1/campaigns/:id/publication-export.
func (p *Pages) handlePublicationExport(c echo.Context) error {
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	format, err := report.PublicationFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	e, err := p.Results.FindPublicationExport(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WritePublication(&buf, format, e); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="publication-`+strconv.FormatInt(id, 10)+"."+format+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, report.PublicationMediaType(format), buf.Bytes())
}
