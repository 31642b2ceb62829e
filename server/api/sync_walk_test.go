package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// attachment is an attachment referenced by a packet of department d whose
// team does not hold insp-a1: a team inspector's device uploads a signature
// and closes the visit with it.
func (w *walk) attachment(t *testing.T, d string) string {
	id := strings.TrimPrefix(w.packet(t, d), "/v1/packets/")
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	p, err := w.h.App.Campaigns.(server.CampaignFieldworkService).FindPacketByID(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Content.Team) == 0 {
		t.Fatal("packet without a team")
	}
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
	ref := dev.upload(t, pngBytes(fmt.Sprintf("walk-%d", w.n.Add(1)), 2000))
	rec := dev.notLocatable(id)
	rec.Close = syncproto.CloseMutation{
		Outcome:    syncproto.OutcomeSigned,
		Signatures: []syncproto.Signature{{Role: syncproto.SignerRepresentative, Name: "王五", Image: ref}},
	}
	if r := dev.push(t, dev.sealClose(t, rec, dev.Key)); len(r.Results) != 1 || r.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("walk close: %+v", r.Results)
	}
	return syncproto.PathAttachments + "/" + ref.SHA256
}
