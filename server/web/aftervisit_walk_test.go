package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

// The objects the after-the-visit pages are walked on: a visited packet
// whose culture result is approved (so a follow-up is open, with an
// evidence image) and whose market result is still a draft.

type afterVisitWalk struct {
	v        *visited
	followUp server.FollowUp
	evidence string
}

var afterVisitWalks = map[*walk]*afterVisitWalk{}

func (w *walk) afterVisit(t *testing.T) *afterVisitWalk {
	if a := afterVisitWalks[w]; a != nil {
		return a
	}
	h := w.h
	v := visitPacket(t, h)
	culture := v.Results[h.DeptA.Code]
	resultStep(t, h, "insp-a1", culture.ID, "enter", map[string]any{"code": culture.SuggestedCode, "summary": "发现未成年人上网"})
	resultStep(t, h, "admin-a", culture.ID, "approve", map[string]any{"resolutions": []any{}})
	var tasks struct{ Followups []server.FollowUp }
	h.MustDo(t, "GET", fmt.Sprintf("/v1/followups?campaign_id=%d", v.Issued.Campaign.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &tasks)
	if len(tasks.Followups) != 1 {
		t.Fatalf("%d follow-ups", len(tasks.Followups))
	}
	img, err := os.ReadFile(writeTestImage(t, t.TempDir(), "evidence", 7))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/followups/%d/evidence", h.URL, tasks.Followups[0].ID), bytes.NewReader(img))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+h.Token(t, "admin-a"))
	r := h.Send(t, req)
	if r.Status != http.StatusCreated {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	a := &afterVisitWalk{v: v, followUp: tasks.Followups[0], evidence: fileSHAOf(img)}
	afterVisitWalks[w] = a
	t.Cleanup(func() { delete(afterVisitWalks, w) })
	return a
}

func (w *walk) approvedResult(t *testing.T) string {
	return fmt.Sprint(w.afterVisit(t).v.Results[w.h.DeptA.Code].ID)
}

func (w *walk) draftResult(t *testing.T) string {
	return fmt.Sprint(w.afterVisit(t).v.Results[w.h.DeptB.Code].ID)
}

func (w *walk) visitedPacket(t *testing.T) string { return w.afterVisit(t).v.Packet.ID }

func (w *walk) signature(t *testing.T) string { return w.afterVisit(t).v.Signature }

func (w *walk) visitedEnterprise(t *testing.T) string {
	return fmt.Sprint(w.afterVisit(t).v.Packet.EnterpriseID)
}

func (w *walk) visitedCampaign(t *testing.T) string {
	return fmt.Sprint(w.afterVisit(t).v.Issued.Campaign.ID)
}

func (w *walk) followUpID(t *testing.T) string { return fmt.Sprint(w.afterVisit(t).followUp.ID) }

func (w *walk) evidencePath(t *testing.T) string {
	a := w.afterVisit(t)
	return fmt.Sprintf("%d/%s", a.followUp.ID, a.evidence)
}

// noFollowUp is a task nobody sees: a step on it is refused by the service
// (not found) once the role gate lets the caller through.
func (w *walk) noFollowUp(*testing.T) string { return "999999" }
