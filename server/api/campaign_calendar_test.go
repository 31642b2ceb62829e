package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// A draw on a day whose year the working-day calendar lacks cannot compute
// the confirmation deadline: that is the server's want of data, answered as
// unavailable with the year named, not as an invalid request, and the
// campaign stays committed.
func TestCampaign_DrawOnAYearTheCalendarLacks(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		campaignFixture(t, h, 10)
		coord := h.Token(t, "coord-a")
		var c api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coord, draftBody(h, "日历缺年份"), http.StatusCreated, &c)
		path := fmt.Sprintf("/v1/campaigns/%d", c.ID)
		h.MustDo(t, "POST", path+"/commit", coord, nil, http.StatusOK, nil)

		years := h.App.Calendar.Years()
		missing := years[len(years)-1] + 1
		h.Advance(time.Date(missing, 3, 2, 2, 0, 0, 0, time.UTC).Sub(h.Now()))
		coord = h.Token(t, "coord-a") // the old one expired on the way
		r := h.Do(t, "POST", path+"/draw", coord, api.DrawRequest{Randomness: []string{"03 07 12 19 25 31+09", "10351.26"}})
		if e := r.Error(); r.Status != http.StatusServiceUnavailable || e.Code != syncproto.CodeUnavailable || !strings.Contains(e.Message, fmt.Sprint(missing)) {
			t.Fatalf("draw: %d %s", r.Status, r.Body)
		}
		h.MustDo(t, "GET", path, coord, nil, http.StatusOK, &c)
		if c.Status != "committed" {
			t.Fatalf("status %q after a refused draw", c.Status)
		}
	})
}
