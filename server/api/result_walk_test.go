package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// recordEnterprises holds, per harness, the one enterprise whose record the
// walk reads: more enterprises would grow the population the walk's packet
// campaigns draw from.
var recordEnterprises sync.Map

// recordEnterprise is an enterprise whose record of inspections the walk reads.
func (w *walk) recordEnterprise(t *testing.T, d string) string {
	if p, ok := recordEnterprises.Load(w.h); ok {
		return p.(string)
	}
	p := w.enterprise(t, d)
	recordEnterprises.Store(w.h, p)
	return p
}

// resultCode is a shipped code of the catalogue (shared by every department).
func (w *walk) resultCode(t *testing.T, d string) string {
	return "/v1/result-codes/" + server.ResultCodeNoProblem
}

// result is the draft result of department d on a packet whose team does
// not hold insp-a1: a team member of d seals the section.
func (w *walk) result(t *testing.T, d string) string {
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	is := w.h.IssueCampaign(t, apptest.CampaignSpec{Departments: []*server.Department{w.dept(d)}, Cafes: 2, TargetsPerTeam: 1})
	walker := *w.h.Users["insp-a1"].InspectorID
	var p *server.Packet
	for _, q := range is.Packets {
		if !slices.ContainsFunc(q.Content.Team, func(m server.PacketMember) bool { return m.InspectorID == walker }) {
			p = q
		}
	}
	if p == nil {
		t.Fatal("every packet's team holds insp-a1")
	}
	id := p.ID
	member := p.Content.Team[0]
	username := ""
	for name, u := range w.h.Users {
		if u.InspectorID != nil && *u.InspectorID == member.InspectorID {
			username = name
		}
	}
	if username == "" {
		username = fmt.Sprintf("walk-member-%d", w.n.Add(1))
		w.h.AddUser(t, &server.User{Username: username, Role: server.RoleInspector, DepartmentID: &w.dept(d).ID, InspectorID: &member.InspectorID})
	}
	dev := newFieldDevice(t, w.h, username)
	if r := dev.push(t, dev.seal(t, dev.section(p, member.Department, 1, syncproto.ResultCompliant), dev.Key)); r.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("walk seal: %+v", r.Results)
	}
	rs, err := w.h.App.Results.FindResults(root, server.ResultFilter{PacketID: &id})
	if err != nil || len(rs) != 1 {
		t.Fatalf("walk result: %v %+v", err, rs)
	}
	return fmt.Sprintf("/v1/results/%d", rs[0].ID)
}
