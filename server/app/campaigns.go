package app

import (
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/store"
)

// wireCampaigns sets the check-item, campaign and public-record services.
func wireCampaigns(a *App) {
	a.Campaigns = store.NewCampaignService(a.DB, calendar.China())
}
