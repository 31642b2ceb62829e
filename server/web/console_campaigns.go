package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/calendar"
)

// Campaign screens: the list, the draft form (new and edit) and the commit.
// They call the campaign service as the signed-in user, which applies the
// same rules as POST/PATCH /v1/campaigns; its errors are shown next to the
// field they are about (campaignFields).

// campaignListData is the campaign list's.
type campaignListData struct {
	Campaigns []*server.Campaign
	Total     int
	Status    string
	Statuses  []statusOption
	CanCreate bool
}

type statusOption struct {
	Value, Label string
	Current      bool
}

// campaignListLimit is how many campaigns one list page shows.
const campaignListLimit = 200

// handleCampaigns handles "GET /console/campaigns" with ?status=.
func (p *Pages) handleCampaigns(c echo.Context) error {
	ctx := c.Request().Context()
	f := server.CampaignFilter{Limit: campaignListLimit}
	status := c.QueryParam("status")
	if status != "" {
		if _, ok := campaignStatusLabels[status]; !ok {
			return server.Errorf(server.EINVALID, "状态无效 (invalid status).")
		}
		st := server.CampaignStatus(status)
		f.Status = &st
	}
	cs, total, err := p.Campaigns.FindCampaigns(ctx, f)
	if err != nil {
		return err
	}
	d := campaignListData{Campaigns: cs, Total: total, Status: status, CanCreate: isCoordinator(ctx)}
	d.Statuses = append(d.Statuses, statusOption{"", "全部", status == ""})
	for _, st := range []server.CampaignStatus{server.CampaignDraft, server.CampaignCommitted, server.CampaignDrawn, server.CampaignTeamed, server.CampaignIssued} {
		d.Statuses = append(d.Statuses, statusOption{string(st), campaignStatusLabels[string(st)], status == string(st)})
	}
	return p.render(c, http.StatusOK, "campaigns", &page{Title: "抽查活动", Data: d})
}

// isCoordinator reports whether the signed-in user runs campaigns (the
// API's coordinators: platform admins and lead coordinators).
func isCoordinator(ctx context.Context) bool {
	u := server.UserFromContext(ctx)
	return u != nil && (u.Role == server.RolePlatformAdmin || u.Role == server.RoleLeadCoordinator)
}

// campaignFormData is the draft form's: the choices it offers.
type campaignFormData struct {
	Campaign    *server.Campaign // nil for a new draft
	Departments []*server.Department
	// Items are the current check items of each department, by department.
	Items      []deptItems
	Categories []categoryOption
	// ChooseLead: a platform admin names the lead department; a
	// coordinator's is their own.
	ChooseLead bool
	LeadName   string
	Action     string
	Classes    []string // the risk classes a ratio table may list
}

type deptItems struct {
	Department *server.Department
	Items      []*server.CheckItem
}

type categoryOption struct{ Value, Label string }

// categories are the enterprise categories the form offers by name; another
// can be typed.
var categories = []categoryOption{{server.CategoryInternetCafe, "互联网上网服务营业场所（网吧）"}}

// datetimeLayout is the value of an <input type="datetime-local">, read
// and shown in Asia/Shanghai.
const datetimeLayout = "2006-01-02T15:04"

// sourcesLeadTime is how far after now a new draft's randomness sources
// become known by default (then rounded up to the minute): long enough to
// check the form and commit first, short enough that a newcomer trying the
// console does not wait long to draw. A real campaign names a real source
// and its time.
const sourcesLeadTime = 3 * time.Minute

// newCampaignValues are a new draft's defaults: a six-day window from
// today, 15% of the internet cafés, two inspectors per department, every
// department and every current check item, sources known a few minutes
// from now.
func (p *Pages) newCampaignValues(d *campaignFormData) url.Values {
	now := p.now().In(calendar.Shanghai())
	v := url.Values{}
	v.Set("name", now.Format("2006年1月2日")+"联合抽查")
	v.Set("window_start", server.DateOf(now).String())
	v.Set("window_end", server.DateOf(now.AddDate(0, 0, 5)).String())
	v.Set("category", server.CategoryInternetCafe)
	v.Set("ratio_default", "0.15")
	v.Set("exclusion_months", "0")
	v.Set("inspectors_per_department", "2")
	v.Set("targets_per_team", "20")
	v.Set("randomness_sources", "指定的公开随机数（写明来源、期号和公布时间）")
	v.Set("sources_available_at", now.Add(sourcesLeadTime).Truncate(time.Minute).Add(time.Minute).Format(datetimeLayout))
	for _, dep := range d.Departments {
		v.Add("department_ids", strconv.FormatInt(dep.ID, 10))
	}
	for _, di := range d.Items {
		for _, it := range di.Items {
			v.Add("check_item_ids", strconv.FormatInt(it.ID, 10))
		}
	}
	return v
}

// campaignValues are a draft's fields as the form's values.
func campaignValues(cp *server.Campaign) url.Values {
	v := url.Values{}
	v.Set("name", cp.Name)
	v.Set("lead_department_id", strconv.FormatInt(cp.LeadDepartmentID, 10))
	v.Set("window_start", cp.WindowStart.String())
	v.Set("window_end", cp.WindowEnd.String())
	v.Set("category", cp.Category)
	v.Set("districts", strings.Join(cp.Districts, "、"))
	v.Set("ratio_default", cp.Ratio.Default)
	for class, r := range cp.Ratio.ByClass {
		v.Set("ratio_"+class, r)
	}
	v.Set("exclusion_months", strconv.Itoa(cp.ExclusionMonths))
	v.Set("inspectors_per_department", strconv.Itoa(cp.InspectorsPerDepartment))
	v.Set("targets_per_team", strconv.Itoa(cp.TargetsPerTeam))
	v.Set("randomness_sources", strings.Join(cp.RandomnessSources, "\n"))
	if cp.SourcesAvailableAt != nil {
		v.Set("sources_available_at", cp.SourcesAvailableAt.In(calendar.Shanghai()).Format(datetimeLayout))
	}
	for _, id := range cp.DepartmentIDs {
		v.Add("department_ids", strconv.FormatInt(id, 10))
	}
	for _, id := range cp.CheckItemIDs {
		v.Add("check_item_ids", strconv.FormatInt(id, 10))
	}
	return v
}

// riskClasses are the credit-risk classes a ratio table may list.
var riskClasses = []string{"A", "B", "C", "D"}

// parseCampaignForm reads the form into a campaign; field errors are those
// the form itself can tell (a date that is not one, a number that is not),
// the rest the service checks.
func parseCampaignForm(v url.Values) (*server.Campaign, map[string]string) {
	errs := map[string]string{}
	cp := &server.Campaign{Name: strings.TrimSpace(v.Get("name"))}
	if s := v.Get("lead_department_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			errs["lead_department_id"] = "请选择牵头部门"
		}
		cp.LeadDepartmentID = id
	}
	date := func(field string) server.Date {
		s := strings.TrimSpace(v.Get(field))
		if s == "" {
			errs[field] = "请填写日期"
			return server.Date{}
		}
		d, err := server.ParseDate(s)
		if err != nil {
			errs[field] = "日期格式应为 年-月-日，例如 2026-12-01"
		}
		return d
	}
	cp.WindowStart, cp.WindowEnd = date("window_start"), date("window_end")
	cp.Category = strings.TrimSpace(v.Get("category"))
	if other := strings.TrimSpace(v.Get("category_other")); other != "" {
		cp.Category = other
	}
	cp.Districts = splitList(v.Get("districts"))
	cp.Ratio.Default = strings.TrimSpace(v.Get("ratio_default"))
	for _, class := range riskClasses {
		if r := strings.TrimSpace(v.Get("ratio_" + class)); r != "" {
			if cp.Ratio.ByClass == nil {
				cp.Ratio.ByClass = map[string]string{}
			}
			cp.Ratio.ByClass[class] = r
		}
	}
	number := func(field string) int {
		n, err := strconv.Atoi(strings.TrimSpace(v.Get(field)))
		if err != nil {
			errs[field] = "请填写整数"
		}
		return n
	}
	cp.ExclusionMonths = number("exclusion_months")
	cp.InspectorsPerDepartment = number("inspectors_per_department")
	cp.TargetsPerTeam = number("targets_per_team")
	for _, line := range strings.Split(v.Get("randomness_sources"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			cp.RandomnessSources = append(cp.RandomnessSources, line)
		}
	}
	if s := strings.TrimSpace(v.Get("sources_available_at")); s == "" {
		errs["sources_available_at"] = "请填写公开随机数最早可知的时间"
	} else if t, err := time.ParseInLocation(datetimeLayout, s, calendar.Shanghai()); err != nil {
		errs["sources_available_at"] = "时间格式应为 年-月-日 时:分"
	} else {
		cp.SourcesAvailableAt = &t
	}
	ids := func(field string) []int64 {
		var out []int64
		for _, s := range v[field] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				errs[field] = "选择无效"
				continue
			}
			out = append(out, id)
		}
		return out
	}
	cp.DepartmentIDs = ids("department_ids")
	cp.CheckItemIDs = ids("check_item_ids")
	if len(cp.DepartmentIDs) == 0 {
		errs["department_ids"] = "请至少选择一个参与部门"
	}
	return cp, errs
}

// splitList splits a list typed with commas, 、 or line breaks.
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == '\n' || r == '\r' || r == ';' || r == '；'
	})
	var out []string
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// campaignFields name the field a service error is about, by the start of
// its Chinese message; the first match wins.
var campaignFields = []fieldWord{
	{"任务名称", "name", false},
	{"企业类别", "category", false},
	{"检查期结束日", "window_end", false},
	{"检查期", "window_start", false},
	{"须指定检查期", "window_start", false},
	{"牵头部门", "lead_department_id", false},
	{"须指定牵头部门", "lead_department_id", false},
	{"排除期", "exclusion_months", false},
	{"每组每部门", "inspectors_per_department", false},
	{"每组检查对象数", "targets_per_team", false},
	{"公开随机数最早可知时间", "sources_available_at", false},
	{"须指定公开随机数最早可知时间", "sources_available_at", false},
	{"须至少指定一个公开随机数来源", "randomness_sources", false},
	{"公开随机数来源", "randomness_sources", false},
	{"随机数来源", "randomness_sources", false},
	{"区县", "districts", false},
	{"须指定抽查比例", "ratio", false},
	{"抽查比例", "ratio", false},
	{"信用风险分类", "ratio", false},
	{"没有符合条件的企业", "districts", false},
	{"参与部门", "department_ids", false},
	{"检查事项", "check_item_ids", false},
	// "A类抽查比例无效"; "有N家企业不属于已列出的信用风险分类，且未设默认抽查比例"
	{"类抽查比例", "ratio", true},
	{"未设默认抽查比例", "ratio", true},
}

// campaignFormChoices loads what the form offers.
func (p *Pages) campaignFormChoices(c echo.Context, cp *server.Campaign) (*campaignFormData, error) {
	ctx := c.Request().Context()
	depts, err := p.Departments.FindDepartments(ctx)
	if err != nil {
		return nil, err
	}
	items, err := p.CheckItems.FindCheckItems(ctx, nil, false)
	if err != nil {
		return nil, err
	}
	d := &campaignFormData{Campaign: cp, Departments: depts, Categories: categories, Classes: riskClasses}
	for _, dep := range depts {
		di := deptItems{Department: dep}
		for _, it := range items {
			if it.DepartmentID == dep.ID {
				di.Items = append(di.Items, it)
			}
		}
		d.Items = append(d.Items, di)
	}
	u := server.UserFromContext(ctx)
	lead := u.DepartmentID
	if cp != nil {
		lead = &cp.LeadDepartmentID
	}
	d.ChooseLead = cp == nil && u.Role == server.RolePlatformAdmin
	for _, dep := range depts {
		if lead != nil && dep.ID == *lead {
			d.LeadName = dep.Name
		}
	}
	d.Action = "/console/campaigns/new"
	if cp != nil {
		d.Action = campaignPath(cp.ID) + "/edit"
	}
	return d, nil
}

func campaignPath(id int64) string { return "/console/campaigns/" + strconv.FormatInt(id, 10) }

// handleCampaignNewForm handles "GET /console/campaigns/new".
func (p *Pages) handleCampaignNewForm(c echo.Context) error {
	d, err := p.campaignFormChoices(c, nil)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "campaign_form", &page{Title: "新建抽查方案", Form: newForm(p.newCampaignValues(d)), Data: d})
}

// handleCampaignCreate handles "POST /console/campaigns/new": as POST
// /v1/campaigns.
func (p *Pages) handleCampaignCreate(c echo.Context) error {
	d, err := p.campaignFormChoices(c, nil)
	if err != nil {
		return err
	}
	return p.saveCampaignForm(c, "新建抽查方案", d, 0, "抽查方案草稿已保存", func(cp *server.Campaign) (int64, error) {
		err := p.Campaigns.CreateCampaign(c.Request().Context(), cp)
		return cp.ID, err
	})
}

// saveCampaignForm parses the draft form posted to c and saves it with
// save: then it redirects to the campaign with the flash done, or else shows
// the form again with its errors. lead is the draft's lead department, 0
// for a new draft, whose form names it.
func (p *Pages) saveCampaignForm(c echo.Context, title string, d *campaignFormData, lead int64, done string, save func(*server.Campaign) (int64, error)) error {
	values, err := c.FormParams()
	if err != nil {
		return server.Errorf(server.EINVALID, "表单无效 (invalid form).")
	}
	form := newForm(values)
	cp, errs := parseCampaignForm(values)
	if lead == 0 {
		lead = cp.LeadDepartmentID
	} else {
		delete(errs, "lead_department_id") // the lead never changes
	}
	cp.CheckItemIDs = itemsOfDepartments(d, cp.CheckItemIDs, cp.DepartmentIDs, lead, server.UserFromContext(c.Request().Context()))
	form.Errors = errs
	status := http.StatusBadRequest
	if len(errs) == 0 {
		id, err := save(cp)
		if err == nil {
			p.setFlash(c, done)
			return c.Redirect(http.StatusSeeOther, campaignPath(id))
		}
		if ferr := fieldError(form, err, campaignFields); ferr != nil {
			return ferr
		}
		status = statusOf(server.ErrorCode(err))
	}
	return p.render(c, status, "campaign_form", &page{Title: title, Form: form, Data: d})
}

// itemsOfDepartments keeps the check items of the participating
// departments (the lead's included): a department unticked takes its
// items with it, rather than the form failing over items no longer shown
// as chosen.
func itemsOfDepartments(d *campaignFormData, items, depts []int64, lead int64, u *server.User) []int64 {
	taking := slices.Clone(depts)
	if lead > 0 {
		taking = append(taking, lead)
	} else if u.DepartmentID != nil {
		taking = append(taking, *u.DepartmentID)
	}
	deptOf := map[int64]int64{}
	for _, di := range d.Items {
		for _, it := range di.Items {
			deptOf[it.ID] = di.Department.ID
		}
	}
	var out []int64
	for _, id := range items {
		if dep, ok := deptOf[id]; !ok || slices.Contains(taking, dep) {
			out = append(out, id) // unknown ids: the service says so
		}
	}
	return out
}

// campaignParam is the campaign named by :id, as the signed-in user may
// see it (ENOTFOUND otherwise, as GET /v1/campaigns/:id).
func (p *Pages) campaignParam(c echo.Context) (*server.Campaign, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, server.Errorf(server.ENOTFOUND, "抽查任务不存在 (campaign not found).")
	}
	return p.Campaigns.FindCampaignByID(c.Request().Context(), id)
}

// handleCampaignEditForm handles "GET /console/campaigns/:id/edit".
func (p *Pages) handleCampaignEditForm(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	if cp.Status != server.CampaignDraft {
		return server.Errorf(server.ECONFLICT, "已提交的抽查方案不可修改 (a committed campaign cannot change).")
	}
	d, err := p.campaignFormChoices(c, cp)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "campaign_form", &page{Title: "修改抽查方案", Form: newForm(campaignValues(cp)), Data: d})
}

// handleCampaignUpdate handles "POST /console/campaigns/:id/edit": as
// PATCH /v1/campaigns/:id with every field.
func (p *Pages) handleCampaignUpdate(c echo.Context) error {
	cp, err := p.campaignParam(c)
	if err != nil {
		return err
	}
	d, err := p.campaignFormChoices(c, cp)
	if err != nil {
		return err
	}
	return p.saveCampaignForm(c, "修改抽查方案", d, cp.LeadDepartmentID, "抽查方案草稿已更新", func(in *server.Campaign) (int64, error) {
		_, err := p.Campaigns.UpdateCampaign(c.Request().Context(), cp.ID, server.CampaignUpdate{
			Name: &in.Name, DepartmentIDs: &in.DepartmentIDs, WindowStart: &in.WindowStart, WindowEnd: &in.WindowEnd,
			Category: &in.Category, Districts: &in.Districts, Ratio: &in.Ratio, ExclusionMonths: &in.ExclusionMonths,
			InspectorsPerDepartment: &in.InspectorsPerDepartment, TargetsPerTeam: &in.TargetsPerTeam,
			CheckItemIDs: &in.CheckItemIDs, RandomnessSources: &in.RandomnessSources, SourcesAvailableAt: in.SourcesAvailableAt,
		})
		return cp.ID, err
	})
}

// Has reports whether value is among the values submitted for field (a
// checkbox ticked, an option chosen).
func (f *Form) Has(field, value any) bool {
	return slices.Contains(f.Values[toString(field)], toString(value))
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

// now is the server's time: the store's clock, which tests move.
func (p *Pages) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Helpers of the campaign screens' templates.
func init() {
	funcs["deref"] = func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	funcs["category"] = categoryLabel
	funcs["rfc3339"] = func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	funcs["until"] = untilText
}

// untilText says how long from now until t, in minutes (at least one).
func untilText(now time.Time, t *time.Time) string {
	if t == nil {
		return "—"
	}
	d := t.Sub(now)
	switch {
	case d <= time.Minute:
		return "1 分钟"
	case d < 2*time.Hour:
		return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " 分钟"
	case d < 48*time.Hour:
		return strconv.Itoa(int((d+time.Hour-1)/time.Hour)) + " 小时"
	}
	return strconv.Itoa(int((d+24*time.Hour-1)/(24*time.Hour))) + " 天"
}

// categoryLabel names a category the form offers; another shows as its code.
func categoryLabel(code string) template.HTML {
	for _, c := range categories {
		if c.Value == code {
			return template.HTML(template.HTMLEscapeString(c.Label))
		}
	}
	return template.HTML("<code>" + template.HTMLEscapeString(code) + "</code>")
}

// Campaign screens in the menu, after the dashboard, with their routes'
// roles.
func init() {
	nav = slices.Insert(nav, 1,
		struct {
			Label, Href string
			Roles       []server.Role
		}{"抽查活动", "/console/campaigns", api.StaffOnly},
		struct {
			Label, Href string
			Roles       []server.Role
		}{"检查事项", "/console/check-items", api.AnyRole},
	)
}
