package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// drawnCampaign is a campaign led by, and with only, department d, committed
// and drawn: the state in which the fieldwork routes start.
func (w *walk) drawnCampaign(t *testing.T, d string) string {
	c := w.newCampaign(t, d, true)
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	w.h.Advance(time.Second) // the sources are public
	if _, err := w.h.App.Campaigns.Draw(root, c.ID, []string{"走查"}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/v1/campaigns/%d", c.ID)
}

// packet is a packet of a campaign of department d only whose team does not
// hold insp-a1, so that it is never the walking inspector's own: both
// enterprises of a district of its own are targets, one per team, one
// inspector per team. The district keeps out the enterprises other routes
// of the walk declared conflicts of interest with, which could leave a
// target no team to go to, depending on the draw.
func (w *walk) packet(t *testing.T, d string) string {
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	dept := w.dept(d)
	n := w.n.Add(1)
	district := fmt.Sprintf("走查区%d", n)
	c := &server.Campaign{
		Name: fmt.Sprintf("走查检查包%d", n), LeadDepartmentID: dept.ID, DepartmentIDs: []int64{dept.ID},
		WindowStart: server.Date{Year: 2026, Month: 12, Day: 1}, WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6},
		Category: server.CategoryInternetCafe, Districts: []string{district}, Ratio: server.RatioTable{Default: "1"},
		InspectorsPerDepartment: 1, TargetsPerTeam: 1, RandomnessSources: []string{"走查用随机数"},
		SourcesAvailableAt: w.h.SourcesAvailableAt(),
	}
	if err := w.h.App.Campaigns.CreateCampaign(root, c); err != nil {
		t.Fatal(err)
	}
	w.enterpriseIn(t, district)
	w.enterpriseIn(t, district)
	svc := w.h.App.Campaigns
	fw := svc.(server.CampaignFieldworkService)
	if _, err := svc.CommitCampaign(root, c.ID); err != nil {
		t.Fatal(err)
	}
	w.h.Advance(time.Second)
	if _, err := svc.Draw(root, c.ID, []string{"走查"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fw.ConfirmTargetsFor(root, c.ID, &dept.ID); err != nil {
		t.Fatal(err)
	}
	teams, err := svc.DrawTeams(root, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := svc.IssuePackets(root, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	walker := *w.h.Users["insp-a1"].InspectorID
	for _, tm := range teams {
		if slices.ContainsFunc(tm.Members, func(m server.TeamMember) bool { return m.InspectorID == walker }) {
			continue
		}
		for _, p := range ps {
			if p.TeamNumber == tm.Number {
				return "/v1/packets/" + p.ID
			}
		}
	}
	t.Fatal("every packet's team holds insp-a1")
	return ""
}

// packetRecord makes a packet of d (see packet); the walk puts its id in
// /v1/packets/:id/record.
func (w *walk) packetRecord(t *testing.T, d string) string { return w.packet(t, d) }
