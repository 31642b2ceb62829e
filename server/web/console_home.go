package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/syncproto"
)

// homeData is the dashboard's: the campaigns the user may see (staff), or
// the user's results to enter and review (inspectors).
type homeData struct {
	Campaigns      []*server.Campaign
	CampaignsTotal int
	ShowCampaigns  bool
	Results        []syncproto.Result
	ShowResults    bool
}

// homeCampaignLimit is how many campaigns the dashboard lists.
const homeCampaignLimit = 50

// handleHome handles "GET /console/": each role's dashboard. Each list
// comes from the service the API's route for it calls, and is shown only
// to the roles that route allows.
func (p *Pages) handleHome(c echo.Context) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	var d homeData
	if slices.Contains(api.StaffOnly, u.Role) { // GET /v1/campaigns
		cs, total, err := p.Campaigns.FindCampaigns(ctx, server.CampaignFilter{Limit: homeCampaignLimit})
		if err != nil {
			return err
		}
		d.Campaigns, d.CampaignsTotal, d.ShowCampaigns = cs, total, true
	}
	if u.Role == server.RoleInspector { // GET /v1/results: an inspector's own
		rs, err := p.Results.FindResults(ctx, server.ResultFilter{})
		if err != nil {
			return err
		}
		d.Results, d.ShowResults = rs, true
	}
	return p.render(c, http.StatusOK, "home", &page{Title: "工作台", Data: d})
}
