package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/syncproto"
)

// After the visit: the results list (the review queue), a result's page
// with entry and review beside the packet's joint record, and the overdue
// lists. Each page calls the service the API's route for the same data
// calls (server/api/result.go), as the signed-in user, so the store's rules
// decide what is seen and who may enter, return, approve or reopen.

// resultStatePublished is the list's own filter: approved and published.
const resultStatePublished = "published"

// resultListStates are the list's filters, in the workflow's order.
var resultListStates = []string{syncproto.ResultDraft, syncproto.ResultEntered, syncproto.ResultReturned, syncproto.ResultApproved, resultStatePublished}

// resultsData is the results list's.
type resultsData struct {
	Campaigns  []*server.Campaign // the filter's choices (staff)
	CampaignID int64
	State      string
	Tabs       []resultTab
	Rows       []resultListRow
	// Marked: the overdue marks come from the service's overdue lists
	// (staff; inspectors see the deadlines only).
	Marked bool
}

type resultTab struct {
	Label, Href string
	Count       int
	Current     bool
}

// resultListRow is a result with its overdue mark: "entry", "publication" or "".
type resultListRow struct {
	syncproto.Result
	Overdue string
}

// handleResults handles "GET /console/results?campaign_id=&state=": the
// results the user may see (GET /v1/results), by state.
func (p *Pages) handleResults(c echo.Context) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	campaign, err := parseQueryID(c, "campaign_id")
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state != "" && !slices.Contains(resultListStates, state) {
		return server.Errorf(server.EINVALID, "未知的结果状态 (unknown state).")
	}
	all, err := p.Results.FindResults(ctx, server.ResultFilter{CampaignID: campaign})
	if err != nil {
		return err
	}
	d := resultsData{State: state}
	if campaign != nil {
		d.CampaignID = *campaign
	}
	overdue := map[int64]string{}
	if slices.Contains(api.StaffOnly, u.Role) { // GET /v1/campaigns, GET /v1/results/overdue
		cs, _, err := p.Campaigns.FindCampaigns(ctx, server.CampaignFilter{Limit: 200})
		if err != nil {
			return err
		}
		d.Campaigns = cs
		od, err := p.Results.FindOverdue(ctx, campaign)
		if err != nil {
			return err
		}
		for _, o := range od.EntryOverdue {
			overdue[o.Result.ID] = "entry"
		}
		for _, o := range od.PublicationOverdue {
			overdue[o.Result.ID] = "publication"
		}
		d.Marked = true
	}
	counts := map[string]int{}
	for _, r := range all {
		st := listState(r)
		counts[st]++
		if st == resultStatePublished {
			counts[syncproto.ResultApproved]++ // published results are approved too
		}
		if state == "" || st == state || state == syncproto.ResultApproved && st == resultStatePublished {
			d.Rows = append(d.Rows, resultListRow{Result: r, Overdue: overdue[r.ID]})
		}
	}
	href := func(st string) string {
		q := url.Values{}
		if campaign != nil {
			q.Set("campaign_id", strconv.FormatInt(*campaign, 10))
		}
		if st != "" {
			q.Set("state", st)
		}
		if len(q) == 0 {
			return "/console/results"
		}
		return "/console/results?" + q.Encode()
	}
	d.Tabs = append(d.Tabs, resultTab{Label: "全部", Href: href(""), Count: len(all), Current: state == ""})
	for _, st := range resultListStates {
		d.Tabs = append(d.Tabs, resultTab{Label: resultListStateLabel(st), Href: href(st), Count: counts[st], Current: state == st})
	}
	return p.render(c, http.StatusOK, "results", &page{Title: "检查结果", Data: d})
}

// listState is a result's state in the list: published apart from approved.
func listState(r syncproto.Result) string {
	if r.State == syncproto.ResultApproved && r.PublishedAt != nil {
		return resultStatePublished
	}
	return r.State
}

// parseQueryID reads an optional positive id from the query.
func parseQueryID(c echo.Context, name string) (*int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, server.Errorf(server.EINVALID, "编号须为正整数 (%s must be a positive integer).", name)
	}
	return &id, nil
}

// parsePathID reads the path's :id, a positive integer; anything else is not found.
func parsePathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, server.Errorf(server.ENOTFOUND, "未找到 (not found).")
	}
	return id, nil
}

// overdueData is the overdue lists' page.
type overdueData struct {
	Campaigns  []*server.Campaign
	CampaignID int64
	Overdue    *server.OverdueResults
}

// handleResultsOverdue handles "GET /console/results/overdue?campaign_id="
// (GET /v1/results/overdue): entry overdue and publication overdue.
func (p *Pages) handleResultsOverdue(c echo.Context) error {
	ctx := c.Request().Context()
	campaign, err := parseQueryID(c, "campaign_id")
	if err != nil {
		return err
	}
	od, err := p.Results.FindOverdue(ctx, campaign)
	if err != nil {
		return err
	}
	cs, _, err := p.Campaigns.FindCampaigns(ctx, server.CampaignFilter{Limit: 200})
	if err != nil {
		return err
	}
	d := overdueData{Campaigns: cs, Overdue: od}
	if campaign != nil {
		d.CampaignID = *campaign
	}
	return p.render(c, http.StatusOK, "results_overdue", &page{Title: "逾期提醒", Data: d})
}

// resultData is a result's page: the result and its forms beside the
// packet's joint record.
type resultData struct {
	R       *syncproto.Result
	Overdue string
	Record  *recordView // nil: the user may not read the packet
	// Codes are the catalogue, for entry; Members the department's
	// inspectors on the team, whom an admin enters for.
	Codes   []*server.ResultCode
	Members []server.PacketMember
	// Required are the flags an approval must resolve, each with a reason.
	Required []syncproto.RecordFlag
	// The forms shown: by role and state; the service decides the rest
	// (one enters, another reviews) and says why it refuses.
	CanEnter, CanReview, CanReopen bool
	Admin                          bool
	DepartmentName                 string
	EnteredFor                     string
	EnteredBy, ReviewedBy          template.HTML
}

// handleResult handles "GET /console/results/:id".
func (p *Pages) handleResult(c echo.Context) error {
	id, err := parsePathID(c)
	if err != nil {
		return err
	}
	return p.renderResult(c, id, http.StatusOK, nil)
}

// renderResult shows result id with form (the values and error of a
// refused action, or nil).
func (p *Pages) renderResult(c echo.Context, id int64, status int, form *Form) error {
	ctx := c.Request().Context()
	u := server.UserFromContext(ctx)
	r, err := p.Results.FindResultByID(ctx, id)
	if err != nil {
		return err
	}
	d := resultData{R: r, Required: server.ResolutionsRequired(r), Admin: u.Role == server.RoleDepartmentAdmin}
	deptStaff := slices.Contains(api.DeptStaff, u.Role)
	d.CanEnter = deptStaff && (r.State == syncproto.ResultDraft || r.State == syncproto.ResultReturned)
	d.CanReview = deptStaff && r.State == syncproto.ResultEntered
	d.CanReopen = slices.Contains(api.DeptAdmins, u.Role) && r.State == syncproto.ResultApproved
	if slices.Contains(api.StaffOnly, u.Role) {
		od, err := p.Results.FindOverdue(ctx, &r.CampaignID)
		if err != nil {
			return err
		}
		for _, o := range od.EntryOverdue {
			if o.Result.ID == r.ID {
				d.Overdue = "entry"
			}
		}
		for _, o := range od.PublicationOverdue {
			if o.Result.ID == r.ID {
				d.Overdue = "publication"
			}
		}
	}
	rv, err := p.loadRecord(c, r.PacketID)
	if err != nil {
		return err
	}
	d.Record = rv
	d.DepartmentName = r.Department
	if rv != nil {
		d.DepartmentName = rv.deptName(r.Department)
		for _, m := range rv.Packet.Content.Team {
			if m.Department == r.Department {
				d.Members = append(d.Members, m)
			}
		}
		if r.EnteredFor != nil {
			d.EnteredFor = rv.inspector(*r.EnteredFor)
		}
	}
	if d.CanEnter {
		if d.Codes, err = p.Results.FindResultCodes(ctx); err != nil {
			return err
		}
	}
	d.EnteredBy = p.personLabel(c, r.EnteredBy)
	d.ReviewedBy = p.personLabel(c, r.ReviewedBy)
	if form == nil {
		form = newForm(url.Values{"code": {r.SuggestedCode}})
		if r.Code != "" {
			form.Values.Set("code", r.Code)
			form.Values.Set("summary", r.Summary)
		}
	}
	title := r.EnterpriseName + " · 检查结果"
	return p.render(c, status, "result", &page{Title: title, Data: d, Form: form})
}

// personLabel names user id for a page: the signed-in user is "本人"; a user
// the caller may see (an admin sees their department's), by name, the
// username marked as not to translate; anyone else by number.
func (p *Pages) personLabel(c echo.Context, id *int64) template.HTML {
	if id == nil {
		return ""
	}
	ctx := c.Request().Context()
	me := server.UserFromContext(ctx)
	if me.ID == *id {
		return "本人"
	}
	if slices.Contains(api.AdminOnly, me.Role) {
		if u, err := p.Users.FindUserByID(ctx, *id); err == nil {
			name := `<span translate="no">` + template.HTMLEscapeString(u.Username) + `</span>`
			if u.DisplayName != "" {
				name = template.HTMLEscapeString(u.DisplayName) + "（" + name + "）"
			}
			return template.HTML(name)
		}
	}
	return template.HTML("用户 #" + strconv.FormatInt(*id, 10))
}

// resultAction runs one review step from its form and shows the result
// again: a 303 with a flash on success, else the page with the service's
// message next to the form (named by action) and the values kept.
func (p *Pages) resultAction(action string, do func(c echo.Context, id int64, form *Form) (*syncproto.Result, error), done string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parsePathID(c)
		if err != nil {
			return err
		}
		vals, err := c.FormParams()
		if err != nil {
			return server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
		}
		form := newForm(vals)
		if _, err := do(c, id, form); err != nil || len(form.Errors) > 0 {
			status := http.StatusBadRequest
			if err != nil {
				code := server.ErrorCode(err)
				if code == server.EINTERNAL {
					return err
				}
				status = statusOf(code)
				form.Errors[action] = errorText(err)
			}
			return p.renderResult(c, id, status, form)
		}
		p.setFlash(c, done)
		return c.Redirect(http.StatusSeeOther, "/console/results/"+strconv.FormatInt(id, 10))
	}
}

// handleResultEnter handles "POST /console/results/:id/enter" (POST
// /v1/results/:id/enter): code, summary and, for an admin, entered_for.
func (p *Pages) handleResultEnter() echo.HandlerFunc {
	return p.resultAction("enter", func(c echo.Context, id int64, f *Form) (*syncproto.Result, error) {
		e := server.ResultEntry{Code: strings.TrimSpace(f.Get("code")), Summary: strings.TrimSpace(f.Get("summary"))}
		if e.Code == "" {
			f.Errors["code"] = "请选择检查结果"
		}
		if v := f.Get("entered_for"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				f.Errors["entered_for"] = "请选择执法人员"
			}
			e.EnteredFor = &n
		}
		if len(f.Errors) > 0 {
			return nil, nil
		}
		return p.Results.EnterResult(c.Request().Context(), id, e)
	}, "结果已录入，等待复核")
}

// handleResultReturn handles "POST /console/results/:id/return": reason.
func (p *Pages) handleResultReturn() echo.HandlerFunc {
	return p.resultAction("return", func(c echo.Context, id int64, f *Form) (*syncproto.Result, error) {
		if strings.TrimSpace(f.Get("reason")) == "" {
			f.Errors["reason"] = "请填写退回理由"
			return nil, nil
		}
		return p.Results.ReturnResult(c.Request().Context(), id, f.Get("reason"))
	}, "结果已退回录入人")
}

// handleResultApprove handles "POST /console/results/:id/approve": a
// reason per flag to resolve, as resolution_CODE_DEPARTMENT.
func (p *Pages) handleResultApprove() echo.HandlerFunc {
	return p.resultAction("approve", func(c echo.Context, id int64, f *Form) (*syncproto.Result, error) {
		ctx := c.Request().Context()
		r, err := p.Results.FindResultByID(ctx, id)
		if err != nil {
			return nil, err
		}
		res := []syncproto.ResultResolution{}
		for _, fl := range server.ResolutionsRequired(r) {
			field := resolutionField(fl)
			reason := strings.TrimSpace(f.Get(field))
			if reason == "" {
				f.Errors[field] = "请说明处理理由"
				continue
			}
			res = append(res, syncproto.ResultResolution{Code: fl.Code, Department: fl.Department, Reason: reason})
		}
		if len(f.Errors) > 0 {
			return nil, nil
		}
		return p.Results.ApproveResult(ctx, id, res)
	}, "复核通过")
}

// handleResultReopen handles "POST /console/results/:id/reopen" (a
// department admin): reason.
func (p *Pages) handleResultReopen() echo.HandlerFunc {
	return p.resultAction("reopen", func(c echo.Context, id int64, f *Form) (*syncproto.Result, error) {
		if strings.TrimSpace(f.Get("reopen_reason")) == "" {
			f.Errors["reopen_reason"] = "请填写重新打开的理由"
			return nil, nil
		}
		return p.Results.ReopenResult(c.Request().Context(), id, f.Get("reopen_reason"))
	}, "结果已重新打开，退回录入人更正")
}

// resolutionField is the form field of a flag's resolution.
func resolutionField(f syncproto.RecordFlag) string {
	if f.Department == "" {
		return "resolution_" + f.Code
	}
	return "resolution_" + f.Code + "_" + f.Department
}
