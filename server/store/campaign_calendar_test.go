package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// A replacement after a confirmation moves the confirmation deadline to one
// working day after it, on the calendar: in a year the calendar lacks that is
// the server's want of data (unavailable, the year named, nothing changed),
// like the draw's; on New Year's Eve 2026 it runs over the 2027 New Year
// holiday (lunar-go's data) to Monday 2027-01-04.
func TestCampaignService_ReplacementDeadlineOnTheCalendar(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		dc := mustDrawnCampaign(t, f, f.deptA, []*server.Department{f.deptA, f.deptB}, 40, "0.15", 1)
		id := dc.id
		if _, err := svc.ConfirmTargets(as(f.adminA), id); err != nil {
			t.Fatal(err)
		}
		before, err := svc.FindConfirmationStatus(as(f.coordA), id)
		if err != nil || before.ConfirmDeadline == nil {
			t.Fatalf("status %+v, %v", before, err)
		}
		old := db.Now
		defer func() { db.Now = old }()
		gone := dc.selection[2].ID

		db.Now = func() time.Time { return time.Date(2031, 3, 3, 2, 0, 0, 0, time.UTC) }
		_, err = svc.ReplaceTarget(as(f.adminB), id, gone, "已注销 (deregistered)")
		wantErrorCode(t, err, server.EUNAVAILABLE)
		if !strings.Contains(server.ErrorMessage(err), "2031") {
			t.Fatalf("message does not name 2031: %v", err)
		}
		rs, err := svc.FindReplacements(as(f.coordA), id)
		if err != nil || len(rs) != 0 {
			t.Fatalf("replacements after a refused one: %v %v", rs, err)
		}
		st, err := svc.FindConfirmationStatus(as(f.coordA), id)
		if err != nil || len(st.Reopenings) != 0 || !st.ConfirmDeadline.Equal(*before.ConfirmDeadline) {
			t.Fatalf("status after a refused replacement %+v, %v", st, err)
		}
		for _, c := range st.Confirmations {
			if (c.ConfirmedAt != nil) != (c.DepartmentID == f.deptA.ID) {
				t.Fatalf("confirmation %+v after a refused replacement", c)
			}
		}

		db.Now = func() time.Time { return time.Date(2026, 12, 31, 7, 0, 0, 0, time.UTC) } // 15:00 in Shanghai
		if _, err := svc.ReplaceTarget(as(f.adminB), id, gone, "已注销 (deregistered)"); err != nil {
			t.Fatal(err)
		}
		st, err = svc.FindConfirmationStatus(as(f.coordA), id)
		if err != nil || len(st.Reopenings) != 1 || st.ConfirmDeadline == nil {
			t.Fatalf("status %+v, %v", st, err)
		}
		if got := st.ConfirmDeadline.In(calendar.Shanghai()).Format("2006-01-02 15:04"); got != "2027-01-04 23:59" {
			t.Fatalf("confirmation deadline %s, want the end of 2027-01-04", got)
		}
	})
}
