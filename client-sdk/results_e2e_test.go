package sdk

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestE2EResultsReturned: a section sealed on the device drafts its
// department's result; the inspector enters it, the department admin
// returns it, and the reason reaches the device through Results.
func TestE2EResultsReturned(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		c := enrolledE2E(t, h, username)
		workSection(t, c, h, packetID, 71)
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		rs, err := c.Results(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].PacketID != packetID || rs[0].State != syncproto.ResultDraft || len(rs[0].Findings) != 1 ||
			rs[0].Findings[0].ItemCode != "minors" || len(rs[0].Findings[0].Photos) != 1 {
			t.Fatalf("drafts: %+v", rs)
		}
		path := fmt.Sprintf("/v1/results/%d", rs[0].ID)
		h.MustDo(t, "POST", path+"/enter", h.Token(t, username), map[string]string{"code": server.ResultCodePendingFollowUp}, http.StatusOK, nil)
		h.MustDo(t, "POST", path+"/return", h.Token(t, "admin-a"), map[string]string{"reason": "请写明责令改正的期限"}, http.StatusOK, nil)
		if rs, err = c.Results(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].State != syncproto.ResultReturned || rs[0].ReturnReason != "请写明责令改正的期限" {
			t.Fatalf("after the return: %+v", rs)
		}
	})
}
