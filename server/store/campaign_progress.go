package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

var _ server.CampaignProgressService = (*CampaignService)(nil)

// FindCampaignProgress returns each packet of the campaign with its visit,
// sync, seals and results, by team then credit code: four queries, whatever
// the number of packets.
func (s *CampaignService) FindCampaignProgress(ctx context.Context, id int64) ([]*server.PacketProgress, error) {
	var out []*server.PacketProgress
	err := s.withStaffCampaign(ctx, id, func(tx *Tx) error {
		var packets []struct {
			ID         string
			CreditCode string
			TeamNo     int
			CreatedAt  time.Time
			Name       string
		}
		if err := tx.Raw(`SELECT p.id, p.credit_code, p.team_no, p.created_at, e.name
			FROM packets p JOIN enterprises e ON e.id = p.enterprise_id
			WHERE p.campaign_id = ? ORDER BY p.team_no, p.credit_code`, id).Scan(&packets).Error; err != nil {
			return err
		}
		byID := make(map[string]*server.PacketProgress, len(packets))
		for _, p := range packets {
			pp := &server.PacketProgress{PacketID: p.ID, CreditCode: p.CreditCode, EnterpriseName: p.Name, TeamNumber: p.TeamNo, IssuedAt: p.CreatedAt.UTC()}
			out = append(out, pp)
			byID[p.ID] = pp
		}

		var closes []struct {
			PacketID   string
			Body       string
			ReceivedAt time.Time
		}
		if err := tx.Raw(`SELECT vc.packet_id, vc.body, vc.received_at
			FROM visit_closes vc JOIN packets p ON p.id = vc.packet_id
			WHERE p.campaign_id = ?`, id).Scan(&closes).Error; err != nil {
			return err
		}
		for _, c := range closes {
			pp := byID[c.PacketID]
			if pp == nil {
				continue
			}
			var rec struct {
				ClosedAt time.Time `json:"closed_at"`
			}
			if err := json.Unmarshal([]byte(c.Body), &rec); err != nil {
				return fmt.Errorf("close of packet %s: %w", c.PacketID, err)
			}
			visited, synced := rec.ClosedAt.UTC(), c.ReceivedAt.UTC()
			if pp.VisitedAt == nil || visited.Before(*pp.VisitedAt) {
				pp.VisitedAt = &visited
			}
			if pp.SyncedAt == nil || synced.Before(*pp.SyncedAt) {
				pp.SyncedAt = &synced
			}
		}

		var seals []struct {
			PacketID string
			N        int
		}
		if err := tx.Raw(`SELECT ss.packet_id, COUNT(DISTINCT ss.department) AS n
			FROM section_seals ss JOIN packets p ON p.id = ss.packet_id
			WHERE p.campaign_id = ? GROUP BY ss.packet_id`, id).Scan(&seals).Error; err != nil {
			return err
		}
		for _, sl := range seals {
			if pp := byID[sl.PacketID]; pp != nil {
				pp.SectionsSealed = sl.N
			}
		}

		var results []struct {
			PacketID     string
			DepartmentID int64
			State        string
			EnteredAt    *time.Time
			ApprovedAt   *time.Time
		}
		if err := tx.Raw(`SELECT packet_id, department_id, state, entered_at, approved_at
			FROM results WHERE campaign_id = ? ORDER BY packet_id, department_id`, id).Scan(&results).Error; err != nil {
			return err
		}
		for _, r := range results {
			if pp := byID[r.PacketID]; pp != nil {
				pp.Results = append(pp.Results, server.ResultProgress{
					DepartmentID: r.DepartmentID, State: r.State, EnteredAt: utcp(r.EnteredAt), ApprovedAt: utcp(r.ApprovedAt),
				})
			}
		}
		return nil
	})
	return out, err
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
