package store

import (
	"context"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
)

// CampaignService implements server.CampaignService. Its methods are split
// over campaign*.go files by workflow step.
type CampaignService struct {
	db       *DB
	calendar *calendar.Calendar
}

var _ server.CampaignService = (*CampaignService)(nil)

// NewCampaignService returns the campaign service; cal counts working days
// for deadlines.
func NewCampaignService(db *DB, cal *calendar.Calendar) *CampaignService {
	return &CampaignService{db: db, calendar: cal}
}

var errNotImplemented = server.Errorf(server.EUNAVAILABLE, "尚未实现 (not implemented yet).")

func (s *CampaignService) FindCampaignByID(ctx context.Context, id int64) (*server.Campaign, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindCampaigns(ctx context.Context, f server.CampaignFilter) ([]*server.Campaign, int, error) {
	return nil, 0, errNotImplemented
}
func (s *CampaignService) CreateCampaign(ctx context.Context, c *server.Campaign) error {
	return errNotImplemented
}
func (s *CampaignService) UpdateCampaign(ctx context.Context, id int64, upd server.CampaignUpdate) (*server.Campaign, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) CommitCampaign(ctx context.Context, id int64) (*server.Campaign, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) Draw(ctx context.Context, id int64, randomness []string) (*server.Campaign, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindSelections(ctx context.Context, id int64) ([]*server.Selection, error) {
	return nil, errNotImplemented
}
