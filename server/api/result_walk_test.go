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
	// A district of its own: the enterprises other routes of the walk
	// declared conflicts of interest with could leave a target no team.
	is := w.h.IssueCampaign(t, apptest.CampaignSpec{Departments: []*server.Department{w.dept(d)}, Cafes: 2, TargetsPerTeam: 1,
		District: fmt.Sprintf("走查结果区%d", w.n.Add(1))})
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

// followUps holds, per harness and department, the follow-up task the walk
// tries: no call of the walk changes it (every allowed one is refused for
// its body or its state), so one serves every route.
var followUps sync.Map

// followUp is an open follow-up task of department d: the walk's result,
// entered with a code that means problems by a team member of d and
// approved by d's admin.
func (w *walk) followUp(t *testing.T, d string) string {
	type key struct {
		h *apptest.Harness
		d string
	}
	if p, ok := followUps.Load(key{w.h, d}); ok {
		return p.(string)
	}
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	var rid int64
	fmt.Sscanf(w.result(t, d), "/v1/results/%d", &rid)
	r, err := w.h.App.Results.FindResultByID(root, rid)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.h.App.Campaigns.FindPacketByID(root, r.PacketID)
	if err != nil {
		t.Fatal(err)
	}
	var member *server.User
	for _, u := range w.h.Users {
		for _, m := range p.Content.Team {
			if u.InspectorID != nil && *u.InspectorID == m.InspectorID && m.Department == w.dept(d).Code {
				member = u
			}
		}
	}
	if member == nil {
		t.Fatal("no user of the team in department " + d)
	}
	if _, err := w.h.App.Results.EnterResult(server.NewContextWithUser(context.Background(), member), rid,
		server.ResultEntry{Code: server.ResultCodePendingFollowUp}); err != nil {
		t.Fatal(err)
	}
	entered, err := w.h.App.Results.FindResultByID(root, rid)
	if err != nil {
		t.Fatal(err)
	}
	res := []syncproto.ResultResolution{}
	for _, f := range server.ResolutionsRequired(entered) {
		res = append(res, syncproto.ResultResolution{Code: f.Code, Department: f.Department, Reason: "走查"})
	}
	if _, err := w.h.App.Results.ApproveResult(server.NewContextWithUser(context.Background(), w.h.Users["admin-"+d]), rid, res); err != nil {
		t.Fatal(err)
	}
	fs, err := w.h.App.FollowUps.FindFollowUps(root, server.FollowUpFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.ResultID == rid {
			path := fmt.Sprintf("/v1/followups/%d", f.ID)
			followUps.Store(key{w.h, d}, path)
			return path
		}
	}
	t.Fatal("approval opened no follow-up")
	return ""
}
