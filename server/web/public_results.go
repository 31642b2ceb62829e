package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

// campaignResultsData is the page of a campaign's published results.
type campaignResultsData struct {
	Campaign *api.PublicCampaign
	Results  *server.PublicCampaignResults // nil: nothing published yet
}

// handlePublicCampaignResults handles "GET /campaigns/:id/results".
func (p *Pages) handlePublicCampaignResults(c echo.Context) error {
	pc, err := p.publicCampaign(c)
	if err != nil {
		return err
	}
	d := campaignResultsData{Campaign: pc}
	res, err := p.Results.FindPublicCampaignResults(c.Request().Context(), pc.ID)
	switch server.ErrorCode(err) {
	case "":
		d.Results = res
	case server.ENOTFOUND: // committed, nothing published yet
	default:
		return err
	}
	return p.render(c, http.StatusOK, "public_campaign_results", &page{Title: pc.Name + " 抽查结果", Data: d})
}

// searchData is the result search page's.
type searchData struct {
	Query   string
	Matches []server.PublicResult
	// Searched: a name was looked for (Matches may be empty).
	Searched bool
	// Truncated: more matched than are shown.
	Truncated bool
}

// searchLimit caps the entries a name search shows.
const searchLimit = 200

// handlePublicResultSearch handles "GET /results?q=": a credit code goes
// to its enterprise's page; anything else is looked for in the names of
// the enterprises with published results.
func (p *Pages) handlePublicResultSearch(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	d := searchData{Query: q}
	if code := strings.ToUpper(q); server.CheckCreditCode(code) == nil {
		return c.Redirect(http.StatusSeeOther, "/results/"+url.PathEscape(code))
	}
	if q != "" {
		if len([]rune(q)) > 100 {
			return server.Errorf(server.EINVALID, "搜索词过长，最多100个字 (the query is too long).")
		}
		matches, more, err := p.Results.FindPublicResultsByName(c.Request().Context(), q, searchLimit)
		if err != nil {
			return err
		}
		d.Searched, d.Matches, d.Truncated = true, matches, more
	}
	return p.render(c, http.StatusOK, "public_search", &page{Title: "查询抽查结果", Data: d})
}

// handlePublicEnterpriseResults handles "GET /results/:credit_code".
func (p *Pages) handlePublicEnterpriseResults(c echo.Context) error {
	res, err := p.Results.FindPublicEnterpriseResults(c.Request().Context(), c.Param("credit_code"))
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "public_enterprise", &page{Title: "企业抽查结果", Data: res})
}
