package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/draw"
)

// The campaign's page: where it is, what comes next and who does it, with
// the buttons of the step the signed-in user may take; the commit with its
// confirmation, the draw and the verification view.

// campaignData is the campaign page's.
type campaignData struct {
	Campaign     *server.Campaign
	Departments  []*server.Department // participating, lead first
	DeptName     map[int64]string
	Items        []*server.CheckItem
	RatioByClass []classRatio

	// The signed-in user's part.
	Coordinator bool   // runs the campaign (commit, draw, teams, packets)
	Admin       bool   // a department admin of a participating department
	Platform    bool   // a platform admin (confirms for a named department)
	MyDept      *int64 // the user's department

	// After commit.
	Drawable bool      // the sources are known: the draw is open
	Now      time.Time // the server's time, for "drawable at"
	// SourcesSoon: a draft whose sources are known already, or within a
	// minute, cannot be committed as it is (the randomness must be unknown
	// at the commit); PostponeTo is the time the commit page offers instead.
	SourcesSoon bool
	PostponeTo  time.Time

	// After the draw.
	Confirmations *server.ConfirmationStatus
	MyConfirmed   bool
	AllConfirmed  bool
	Targets       []*server.Selection // current targets
	Replacements  []*server.Replacement

	// After the team draw.
	Teams   int
	Packets int
	Filings []*server.GroupingFiling
}

type classRatio struct{ Class, Ratio string }

// next is what happens next, in words, for the page's banner.
func (d *campaignData) Next() string {
	cp := d.Campaign
	switch cp.Status {
	case server.CampaignDraft:
		return "草稿可以修改。确认无误后由牵头部门提交：提交即冻结抽取范围和规则并公布清单摘要，此后不可更改。"
	case server.CampaignCommitted:
		if !d.Drawable {
			return "已提交并公布清单摘要。须等到公开随机数公布（" + formatTimePtr(cp.SourcesAvailableAt) + "）之后，由牵头部门录入随机数并摇号。"
		}
		return "公开随机数已可获知：牵头部门录入各来源公布的值即可摇号，抽取结果随即可由任何人复核。"
	case server.CampaignDrawn:
		if d.AllConfirmed {
			return "各参与部门均已确认检查对象：牵头部门可抽取执法人员并组队。"
		}
		return "各参与部门的系统管理员须在确认期限（" + formatTimePtr(cp.ConfirmDeadline) + "）前确认检查对象；无法检查的对象可说明理由替补（取本层下一签号）。全部确认后由牵头部门抽取执法人员组队。"
	case server.CampaignTeamed:
		return "已组队：牵头部门下发检查表（一企一表）后，执法人员在下次同步时收到任务。各部门可下载分组名单并归档。"
	case server.CampaignIssued:
		return "检查表已下发，执法人员在执法终端上接收并开展现场检查。可在“检查表与进度”中查看进度。"
	}
	return ""
}

// handleCampaign handles "GET /console/campaigns/:id".
func (p *Pages) handleCampaign(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	return p.renderCampaign(c, cp, http.StatusOK, nil)
}

// renderCampaign shows the campaign page with status; form carries the
// error of an action that failed.
func (p *Pages) renderCampaign(c echo.Context, cp *server.Campaign, status int, form *Form) error {
	d, err := p.campaignPage(c, cp)
	if err != nil {
		return err
	}
	return p.render(c, status, "campaign", &page{Title: cp.Name, Data: d, Form: form})
}

func (p *Pages) campaignPage(c echo.Context, cp *server.Campaign) (*campaignData, error) {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	d := &campaignData{Campaign: cp, DeptName: map[int64]string{}, Now: p.now(), MyDept: u.DepartmentID}
	depts, err := p.Departments.FindDepartments(ctx)
	if err != nil {
		return nil, err
	}
	for _, dep := range depts {
		d.DeptName[dep.ID] = dep.Name
		if dep.ID == cp.LeadDepartmentID {
			d.Departments = append([]*server.Department{dep}, d.Departments...)
		} else if slices.Contains(cp.DepartmentIDs, dep.ID) {
			d.Departments = append(d.Departments, dep)
		}
	}
	items, err := p.CheckItems.FindCheckItems(ctx, nil, true)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if slices.Contains(cp.CheckItemIDs, it.ID) {
			d.Items = append(d.Items, it)
		}
	}
	for _, class := range riskClasses {
		if r, ok := cp.Ratio.ByClass[class]; ok {
			d.RatioByClass = append(d.RatioByClass, classRatio{class, r})
		}
	}
	d.Coordinator = isCoordinator(ctx)
	d.Platform = u.Role == server.RolePlatformAdmin
	d.Admin = u.Role == server.RoleDepartmentAdmin && u.DepartmentID != nil && slices.Contains(cp.DepartmentIDs, *u.DepartmentID)
	d.Drawable = cp.SourcesAvailableAt != nil && !d.Now.Before(*cp.SourcesAvailableAt)
	d.SourcesSoon = cp.SourcesAvailableAt != nil && cp.SourcesAvailableAt.Sub(d.Now) < time.Minute
	d.PostponeTo = postponedSources(d.Now)
	if cp.DrawnAt == nil {
		return d, nil
	}
	if d.Confirmations, err = p.Campaigns.FindConfirmationStatus(ctx, cp.ID); err != nil {
		return nil, err
	}
	d.AllConfirmed = true
	for _, cf := range d.Confirmations.Confirmations {
		if cf.ConfirmedAt == nil {
			d.AllConfirmed = false
		} else if u.DepartmentID != nil && cf.DepartmentID == *u.DepartmentID {
			d.MyConfirmed = true
		}
	}
	sel, err := p.Campaigns.FindSelections(ctx, cp.ID)
	if err != nil {
		return nil, err
	}
	for _, s := range sel {
		if !s.Replaced {
			d.Targets = append(d.Targets, s)
		}
	}
	if d.Replacements, err = p.Campaigns.FindReplacements(ctx, cp.ID); err != nil {
		return nil, err
	}
	if cp.TeamsDrawnAt == nil {
		return d, nil
	}
	teams, err := p.Campaigns.FindTeams(ctx, cp.ID)
	if err != nil {
		return nil, err
	}
	d.Teams = len(teams)
	if d.Filings, err = p.Campaigns.FindGroupingFilings(ctx, cp.ID); err != nil {
		return nil, err
	}
	if cp.PacketsIssuedAt != nil {
		ps, err := p.Campaigns.FindPackets(ctx, cp.ID)
		if err != nil {
			return nil, err
		}
		d.Packets = len(ps)
	}
	return d, nil
}

// Confirmed reports whether dept has confirmed the targets.
func (d *campaignData) Confirmed(dept int64) *server.Confirmation {
	if d.Confirmations == nil {
		return nil
	}
	for _, cf := range d.Confirmations.Confirmations {
		if cf.DepartmentID == dept {
			return cf
		}
	}
	return nil
}

// Replacement is the replacement numbered seq, or nil.
func (d *campaignData) Replacement(seq int) *server.Replacement {
	for _, r := range d.Replacements {
		if r.Seq == seq {
			return r
		}
	}
	return nil
}

// Filed is dept's filing of the grouping report, or nil.
func (d *campaignData) Filed(dept int64) *server.GroupingFiling {
	var last *server.GroupingFiling
	for _, f := range d.Filings {
		if f.DepartmentID == dept {
			last = f
		}
	}
	return last
}

// handleCampaignCommitForm handles "GET /console/campaigns/:id/commit":
// what the commit freezes, and the button.
func (p *Pages) handleCampaignCommitForm(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	return p.renderCommit(c, cp, http.StatusOK, newForm(nil))
}

func (p *Pages) renderCommit(c echo.Context, cp *server.Campaign, status int, form *Form) error {
	cp, err := p.Campaigns.FindCampaignByID(c.Request().Context(), cp.ID) // as it is now
	if err != nil {
		return err
	}
	d, err := p.campaignPage(c, cp)
	if err != nil {
		return err
	}
	return p.render(c, status, "campaign_commit", &page{Title: "提交抽查方案", Data: d, Form: form})
}

// postponedSources is the time a draft's sources are moved to when the one
// it names has come too close to commit: sourcesLeadTime from now, rounded
// up to the minute.
func postponedSources(now time.Time) time.Time {
	return now.Add(sourcesLeadTime).Truncate(time.Minute).Add(time.Minute)
}

// handleCampaignCommit handles "POST /console/campaigns/:id/commit": as
// POST /v1/campaigns/:id/commit. With postpone=1 the draft's
// sources_available_at is first moved to postponedSources (as PATCH
// /v1/campaigns/:id would), for a draft whose time came before the commit.
func (p *Pages) handleCampaignCommit(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if c.FormValue("postpone") == "1" {
		at := postponedSources(p.now())
		if _, err := p.Campaigns.UpdateCampaign(ctx, cp.ID, server.CampaignUpdate{SourcesAvailableAt: &at}); err != nil {
			if server.ErrorCode(err) == server.EINTERNAL {
				return err
			}
			form := newForm(nil)
			form.Message = errorText(err)
			return p.renderCommit(c, cp, statusOf(server.ErrorCode(err)), form)
		}
	}
	done, err := p.Campaigns.CommitCampaign(ctx, cp.ID)
	if err != nil {
		if server.ErrorCode(err) == server.EINTERNAL {
			return err
		}
		form := newForm(nil)
		form.Message = errorText(err)
		return p.renderCommit(c, cp, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "抽查方案已提交，清单摘要已公布："+done.ManifestDigest)
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID))
}

// drawData is the draw page's: the form before the draw, the verification
// view after it.
type drawData struct {
	*campaignData
	Record        *draw.Record
	Manifest      *draw.Manifest
	Strata        []drawStratum
	ManifestURL   string
	RecordURL     string
	VerifyCommand string
}

// drawStratum is a stratum of the draw: its size, ratio, how many were
// drawn and the cut-off, the highest ticket drawn (an enterprise whose
// ticket is at or below it is drawn).
type drawStratum struct {
	Name       string
	Population int
	Ratio      string
	Cutoff     string
	Selected   []draw.RecordItem
}

// handleCampaignDraw handles "GET /console/campaigns/:id/draw".
func (p *Pages) handleCampaignDrawPage(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	return p.renderDraw(c, cp, http.StatusOK, newForm(nil))
}

func (p *Pages) renderDraw(c echo.Context, cp *server.Campaign, status int, form *Form) error {
	if cp.Status == server.CampaignDraft {
		return server.Errorf(server.ECONFLICT, "抽查方案尚未提交，不能抽取 (commit the campaign before drawing).")
	}
	cd, err := p.campaignPage(c, cp)
	if err != nil {
		return err
	}
	rec, m, err := p.publicRecord(c, cp.ID)
	if err != nil {
		return err
	}
	d := drawData{
		campaignData: cd, Record: rec, Manifest: m,
		ManifestURL: fmt.Sprintf("/public/campaigns/%d/manifest", cp.ID),
		RecordURL:   fmt.Sprintf("/public/campaigns/%d/record", cp.ID),
	}
	d.VerifyCommand = "spotcheck verify draw " + c.Scheme() + "://" + c.Request().Host + d.RecordURL
	sizes := m.Strata()
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := drawStratum{Name: name, Population: sizes[name]}
		if r, ok := m.Ratios[name]; ok {
			s.Ratio = r.String()
		}
		for _, it := range rec.Selection {
			if it.Stratum == name {
				s.Selected = append(s.Selected, it)
				if it.Ticket > s.Cutoff { // equal-length lower-case hex
					s.Cutoff = it.Ticket
				}
			}
		}
		d.Strata = append(d.Strata, s)
	}
	title := "摇号与复核"
	if rec.Seed == "" {
		title = "录入公开随机数"
	}
	return p.render(c, status, "campaign_draw", &page{Title: title, Data: d, Form: form})
}

// handleCampaignDraw handles "POST /console/campaigns/:id/draw": as POST
// /v1/campaigns/:id/draw, one value per named source (randomness_0, …).
func (p *Pages) handleCampaignDraw(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	values, err := c.FormParams()
	if err != nil {
		return server.Errorf(server.EINVALID, "表单无效 (invalid form).")
	}
	form := newForm(values)
	var rnd []string
	for i := range cp.RandomnessSources {
		field := "randomness_" + strconv.Itoa(i)
		v := strings.TrimSpace(values.Get(field))
		if v == "" {
			form.Errors[field] = "请填写该来源公布的值"
		}
		rnd = append(rnd, v)
	}
	if len(form.Errors) > 0 {
		return p.renderDraw(c, cp, http.StatusBadRequest, form)
	}
	if _, err := p.Campaigns.Draw(c.Request().Context(), cp.ID, rnd); err != nil {
		if server.ErrorCode(err) == server.EINTERNAL {
			return err
		}
		form.Message = errorText(err)
		return p.renderDraw(c, cp, statusOf(server.ErrorCode(err)), form)
	}
	p.setFlash(c, "已摇号：检查对象已抽取，种子和抽取结果已公布")
	return c.Redirect(http.StatusSeeOther, campaignPath(cp.ID)+"/draw")
}
