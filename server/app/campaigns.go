package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/store"
)

// wireCampaigns sets the check-item, campaign and public-record services.
func wireCampaigns(a *App) {
	a.CheckItems = store.NewCheckItemService(a.DB)
	a.Campaigns = store.NewCampaignService(a.DB, a.Calendar)
	a.Public = publicRecords{store.NewPublicRecordService(a.DB)}
}

// loadCalendar returns the working-day calendar of lunar-go's holiday data
// (calendar.China), with the years of the file at path (if any) added or
// replacing whole the years lunar-go has.
func loadCalendar(path string) (*calendar.Calendar, error) {
	cal := calendar.China()
	if path == "" {
		return cal, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar file: %w", err)
	}
	defer f.Close()
	extra, err := calendar.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("calendar file %s: %w", path, err)
	}
	return cal.With(extra), nil
}

// publicRecords adapts the store's public-record service to api.PublicRecords,
// so that neither adapter imports the other.
type publicRecords struct{ s *store.PublicRecordService }

func (p publicRecords) FindPublicCampaigns(ctx context.Context) ([]api.PublicCampaign, error) {
	cs, err := p.s.FindPublicCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.PublicCampaign, len(cs))
	for i, c := range cs {
		out[i] = api.PublicCampaign{
			ID: c.ID, Name: c.Name, Status: c.Status, WindowStart: c.WindowStart, WindowEnd: c.WindowEnd,
			ManifestDigest: c.ManifestDigest, PopulationSize: c.PopulationSize, Seed: c.Seed,
		}
	}
	return out, nil
}

func (p publicRecords) WriteManifest(ctx context.Context, id int64, w io.Writer) error {
	return p.s.WriteManifest(ctx, id, w)
}

func (p publicRecords) WriteRecord(ctx context.Context, id int64, w io.Writer) error {
	return p.s.WriteRecord(ctx, id, w)
}
