package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The packets of a campaign and its progress: each packet's state, each
// team's figures, and a chart of packets issued, visited and synced, and
// results entered and reviewed, per day (an SVG drawn on the server: no
// script).

// packetsData is the packets page's.
type packetsData struct {
	*campaignData
	Packets []packetRow
	Teams   []teamProgress
	Days    []dayProgress
	Chart   *progressChart
	Totals  dayProgress
	// Sections is how many sections each packet has (one per department).
	Sections int
}

type packetRow struct {
	*server.PacketProgress
	State string
}

// teamProgress is one team's figures.
type teamProgress struct {
	Number                                              int
	Packets, Visited, Synced, Sealed, Entered, Approved int
	SectionsTotal                                       int
}

// dayProgress counts what happened on one day (Asia/Shanghai).
type dayProgress struct {
	Day                                        string
	Issued, Visited, Synced, Entered, Reviewed int
}

// handleCampaignPackets handles "GET /console/campaigns/:id/packets".
func (p *Pages) handleCampaignPackets(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	cd, err := p.campaignPage(c, cp)
	if err != nil {
		return err
	}
	d := packetsData{campaignData: cd, Sections: len(cp.DepartmentIDs)}
	if cp.PacketsIssuedAt != nil {
		ps, ok := p.Campaigns.(server.CampaignProgressService)
		if !ok {
			return fmt.Errorf("the campaign service reports no progress")
		}
		progress, err := ps.FindCampaignProgress(c.Request().Context(), cp.ID)
		if err != nil {
			return err
		}
		d.fill(progress, p.now())
	}
	return p.render(c, http.StatusOK, "campaign_packets", &page{Title: "检查表与进度", Data: d})
}

// packetState names where a packet stands.
func packetState(pp *server.PacketProgress, sections int) string {
	entered, approved := 0, 0
	for _, r := range pp.Results {
		switch r.State {
		case syncproto.ResultApproved:
			approved++
		case syncproto.ResultEntered:
			entered++
		}
	}
	switch {
	case approved == sections && sections > 0:
		return "已复核"
	case approved+entered > 0:
		return "录入复核中"
	case pp.SyncedAt != nil:
		return "已检查并同步"
	case pp.SectionsSealed > 0:
		return "部分已封存"
	}
	return "已下发待检查"
}

// fill computes the page's figures from the packets' progress.
func (d *packetsData) fill(progress []*server.PacketProgress, now time.Time) {
	days := map[string]*dayProgress{}
	day := func(t time.Time) *dayProgress {
		k := t.In(calendar.Shanghai()).Format("2006-01-02")
		if days[k] == nil {
			days[k] = &dayProgress{Day: k}
		}
		return days[k]
	}
	teams := map[int]*teamProgress{}
	var order []int
	for _, pp := range progress {
		d.Packets = append(d.Packets, packetRow{pp, packetState(pp, d.Sections)})
		tp := teams[pp.TeamNumber]
		if tp == nil {
			tp = &teamProgress{Number: pp.TeamNumber}
			teams[pp.TeamNumber] = tp
			order = append(order, pp.TeamNumber)
		}
		tp.Packets++
		tp.SectionsTotal += d.Sections
		tp.Sealed += pp.SectionsSealed
		day(pp.IssuedAt).Issued++
		d.Totals.Issued++
		if pp.VisitedAt != nil {
			tp.Visited++
			day(*pp.VisitedAt).Visited++
			d.Totals.Visited++
		}
		if pp.SyncedAt != nil {
			tp.Synced++
			day(*pp.SyncedAt).Synced++
			d.Totals.Synced++
		}
		for _, r := range pp.Results {
			if r.EnteredAt != nil && (r.State == syncproto.ResultEntered || r.State == syncproto.ResultApproved) {
				tp.Entered++
				day(*r.EnteredAt).Entered++
				d.Totals.Entered++
			}
			if r.ApprovedAt != nil && r.State == syncproto.ResultApproved {
				tp.Approved++
				day(*r.ApprovedAt).Reviewed++
				d.Totals.Reviewed++
			}
		}
	}
	for _, n := range order {
		d.Teams = append(d.Teams, *teams[n])
	}
	// Every day from the first issue to the last event or today, whichever
	// is later, so that quiet days show as such.
	if len(days) == 0 {
		return
	}
	first, last := "", now.In(calendar.Shanghai()).Format("2006-01-02")
	for k := range days {
		if first == "" || k < first {
			first = k
		}
		if k > last {
			last = k
		}
	}
	t, _ := time.ParseInLocation("2006-01-02", first, calendar.Shanghai())
	for i := 0; i < maxChartDays; i++ {
		k := t.AddDate(0, 0, i).Format("2006-01-02")
		if k > last {
			break
		}
		if dp := days[k]; dp != nil {
			d.Days = append(d.Days, *dp)
		} else {
			d.Days = append(d.Days, dayProgress{Day: k})
		}
	}
	d.Chart = newProgressChart(d.Days)
}

// maxChartDays bounds the chart: a campaign's window is at most a year.
const maxChartDays = 400

// progressChart is the per-day bar chart, laid out for the template.
type progressChart struct {
	Width, Height    int
	PlotTop, PlotBot int
	Max              int
	Ticks            []chartTick
	Groups           []chartGroup
	Legend           []chartLegend
}

type chartTick struct {
	Y     int
	Label int
}

type chartGroup struct {
	X, LabelX int
	Label     string
	Bars      []chartBar
}

type chartBar struct {
	X, Y, W, H int
	Class      string
	Value      int
	Title      string
}

type chartLegend struct {
	X, TextX int
	Class    string
	Label    string
}

// series are the chart's bars, in order.
var series = []struct{ class, label string }{
	{"issued", "下发"}, {"visited", "现场检查"}, {"synced", "同步"}, {"entered", "录入"}, {"reviewed", "复核"},
}

func newProgressChart(days []dayProgress) *progressChart {
	const (
		left, right, top, bottom = 44, 12, 34, 40
		barW, gap                = 10, 14
	)
	groupW := len(series)*barW + gap
	c := &progressChart{Width: left + right + len(days)*groupW, Height: 260, PlotTop: top}
	if c.Width < 480 {
		c.Width = 480
	}
	c.PlotBot = c.Height - bottom
	for _, d := range days {
		for _, v := range []int{d.Issued, d.Visited, d.Synced, d.Entered, d.Reviewed} {
			c.Max = max(c.Max, v)
		}
	}
	scaleMax := max(c.Max, 1)
	plotH := c.PlotBot - c.PlotTop
	for _, v := range []int{0, scaleMax / 2, scaleMax} {
		if v == 0 && len(c.Ticks) > 0 || len(c.Ticks) > 0 && c.Ticks[len(c.Ticks)-1].Label == v {
			continue
		}
		c.Ticks = append(c.Ticks, chartTick{Y: c.PlotBot - v*plotH/scaleMax, Label: v})
	}
	for i, d := range days {
		x := left + i*groupW + gap/2
		g := chartGroup{X: x, LabelX: x + len(series)*barW/2, Label: d.Day[5:]}
		for j, v := range []int{d.Issued, d.Visited, d.Synced, d.Entered, d.Reviewed} {
			h := v * plotH / scaleMax
			g.Bars = append(g.Bars, chartBar{
				X: x + j*barW, Y: c.PlotBot - h, W: barW - 1, H: h, Class: series[j].class, Value: v,
				Title: fmt.Sprintf("%s %s：%d", d.Day, series[j].label, v),
			})
		}
		c.Groups = append(c.Groups, g)
	}
	for j, s := range series {
		c.Legend = append(c.Legend, chartLegend{X: left + j*84, TextX: left + j*84 + 16, Class: s.class, Label: s.label})
	}
	return c
}
