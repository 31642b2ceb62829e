package store

import (
	"context"

	"github.com/spotcheck/spotcheck/server"
)

func (s *CampaignService) FindConfirmations(ctx context.Context, id int64) ([]*server.Confirmation, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) ConfirmTargets(ctx context.Context, id int64) (*server.Confirmation, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) ReplaceTarget(ctx context.Context, id int64, creditCode, reason string) (*server.Replacement, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindReplacements(ctx context.Context, id int64) ([]*server.Replacement, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) DrawTeams(ctx context.Context, id int64) ([]*server.Team, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindTeams(ctx context.Context, id int64) ([]*server.Team, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) IssuePackets(ctx context.Context, id int64) ([]*server.Packet, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindPackets(ctx context.Context, id int64) ([]*server.Packet, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FileGroupingReport(ctx context.Context, id int64, reportSHA256 string) (*server.GroupingFiling, error) {
	return nil, errNotImplemented
}
func (s *CampaignService) FindGroupingFilings(ctx context.Context, id int64) ([]*server.GroupingFiling, error) {
	return nil, errNotImplemented
}
