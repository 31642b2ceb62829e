package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/web"
)

// The page walk, as the API's (server/api/authz_test.go): every route the
// pages register must have a policy here, and every actor is tried on it.
// Anonymous callers of a console page are sent to the sign-in form; a role
// the page is not for gets the 403 page.

// actors are the callers tried on every page; all but root belong to department A.
var actors = []string{"", "root", "admin-a", "coord-a", "insp-a1"}

type policy struct {
	// public: anyone, signed in or not.
	public bool
	// roles may open the page: the API's role set for the same data.
	roles []server.Role
	// param fills the path's parameter (":id", "*", ":credit_code").
	param func(w *walk, t *testing.T) string
	// form is the body of a POST (its CSRF token is added).
	form url.Values
	// fresh: the route ends the session (logout), so each try signs in anew.
	fresh bool
	// path, for a route with two parameters, makes the whole path (param
	// is then unused).
	path func(w *walk, t *testing.T) string
}

func policies() map[string]policy {
	return map[string]policy{
		"GET /assets/*":              {public: true, param: func(*walk, *testing.T) string { return "app.css" }},
		"GET /":                      {public: true},
		"GET /campaigns/:id":         {public: true, param: (*walk).publicCampaign},
		"GET /campaigns/:id/results": {public: true, param: (*walk).publicCampaign},
		"GET /results":               {public: true},
		"GET /results/:credit_code":  {public: true, param: (*walk).creditCode},
		"GET /console":               {public: true},
		"GET /console/login":         {public: true},
		"POST /console/login":        {public: true, form: url.Values{"username": {"nobody"}, "password": {"x"}}},
		"POST /console/logout":       {roles: api.AnyRole, fresh: true},
		"GET /console/password":      {roles: api.AnyRole},
		"POST /console/password":     {roles: api.AnyRole, form: url.Values{"current_password": {"wrong"}, "new_password": {"a-new-password"}, "new_password_again": {"a-new-password"}}},
		"GET /console/":              {roles: api.AnyRole},

		// Directory and administration screens.
		"GET /console/departments":                {roles: api.AnyRole},
		"POST /console/departments":               {roles: api.PlatformOnly, form: url.Values{"code": {"Bad Code"}, "name": {"新部门"}}},
		"POST /console/departments/:id":           {roles: api.PlatformOnly, param: (*walk).departmentA, form: url.Values{"name": {"市文化广电旅游局"}}},
		"GET /console/enterprises":                {roles: api.StaffOnly},
		"GET /console/enterprises/new":            {roles: api.PlatformOnly},
		"POST /console/enterprises":               {roles: api.PlatformOnly, form: url.Values{"credit_code": {"123"}}},
		"GET /console/enterprises/:id":            {roles: api.StaffOnly, param: (*walk).enterprise},
		"POST /console/enterprises/:id":           {roles: api.PlatformOnly, param: (*walk).enterprise, form: url.Values{"name": {""}}},
		"GET /console/inspectors":                 {roles: api.AnyRole},
		"GET /console/inspectors/new":             {roles: api.AdminOnly},
		"POST /console/inspectors":                {roles: api.AdminOnly, form: url.Values{"name": {"李四"}}},
		"GET /console/inspectors/:id":             {roles: api.AnyRole, param: (*walk).inspector},
		"POST /console/inspectors/:id":            {roles: api.AdminOnly, param: (*walk).inspector, form: url.Values{"name": {""}}},
		"GET /console/imports":                    {roles: api.AdminOnly},
		"POST /console/imports/enterprises":       {roles: api.PlatformOnly},
		"POST /console/imports/inspectors":        {roles: api.AdminOnly},
		"GET /console/imports/:id":                {roles: api.AdminOnly, param: (*walk).importReport},
		"GET /console/imports/:id/errors.csv":     {roles: api.AdminOnly, param: (*walk).importReport},
		"GET /console/declarations":               {roles: api.AnyRole},
		"POST /console/declarations":              {roles: api.AdminOrField, form: url.Values{"credit_code": {"bad"}}},
		"POST /console/declarations/:id/approve":  {roles: api.AdminOnly, param: (*walk).declaration, form: url.Values{"reason": {"同意回避"}}},
		"POST /console/declarations/:id/reject":   {roles: api.AdminOnly, param: (*walk).declaration, form: url.Values{"reason": {"理由不足"}}},
		"POST /console/declarations/:id/withdraw": {roles: api.AdminOrField, param: (*walk).declaration, form: url.Values{"reason": {""}}},
		"GET /console/devices":                    {roles: api.AnyRole},
		"POST /console/devices/:id/revoke":        {roles: api.AdminOnly, param: (*walk).device, form: url.Values{"reason": {"终端遗失"}}},
		"POST /console/devices/:id/import":        {roles: api.AdminOnly, param: (*walk).device},
		"GET /console/users":                      {roles: api.AdminOnly},
		"POST /console/users":                     {roles: api.AdminOnly, form: url.Values{"username": {""}, "role": {"inspector"}}},
		"GET /console/users/:id":                  {roles: api.AnyRole, param: (*walk).spareUser},
		"POST /console/users/:id/disable":         {roles: api.AdminOnly, param: (*walk).spareUser},
		"POST /console/users/:id/password-reset":  {roles: api.AdminOnly, param: (*walk).spareUser},
		"GET /console/account":                    {roles: api.AnyRole},
		"GET /console/audit":                      {roles: api.PlatformOnly},
		// Campaign screens.
		"GET /console/check-items":                           {roles: api.AnyRole},
		"POST /console/check-items":                          {roles: api.AdminOnly, form: url.Values{"code": {"WALK-1"}, "title": {"走查事项"}, "answer_type": {"compliance"}}},
		"POST /console/check-items/:id/retire":               {roles: api.AdminOnly, param: (*walk).checkItem},
		"GET /console/campaigns":                             {roles: api.StaffOnly},
		"GET /console/campaigns/new":                         {roles: api.Coordinators},
		"POST /console/campaigns/new":                        {roles: api.Coordinators, form: url.Values{"name": {""}}},
		"GET /console/campaigns/:id":                         {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/edit":                    {roles: api.Coordinators, param: (*walk).draft},
		"POST /console/campaigns/:id/edit":                   {roles: api.Coordinators, param: (*walk).draft, form: url.Values{"name": {""}}},
		"GET /console/campaigns/:id/commit":                  {roles: api.Coordinators, param: (*walk).draft},
		"POST /console/campaigns/:id/commit":                 {roles: api.Coordinators, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/draw":                    {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/draw":                   {roles: api.Coordinators, param: (*walk).publicCampaign, form: url.Values{"randomness_0": {"1"}}},
		"POST /console/campaigns/:id/confirm":                {roles: api.AdminOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/replacements":           {roles: api.StaffOnly, param: (*walk).publicCampaign, form: url.Values{"credit_code": {"x"}, "reason": {"走查"}}},
		"GET /console/campaigns/:id/teams":                   {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/teams":                  {roles: api.Coordinators, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/packets":                 {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/packets":                {roles: api.Coordinators, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/grouping-report":         {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/grouping-report/filing": {roles: api.AdminOnly, param: (*walk).publicCampaign},
		// Notification letter screens.
		"GET /console/campaigns/:id/letters":                       {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/letters.pdf":                   {roles: api.StaffOnly, param: (*walk).publicCampaign},
		"POST /console/campaigns/:id/letters/contact":              {roles: api.Coordinators, param: (*walk).publicCampaign, form: url.Values{"office": {"市文化市场综合执法支队办公室"}, "phone": {"0592-5550123"}}},
		"POST /console/campaigns/:id/letters/materials":            {roles: api.Coordinators, param: (*walk).publicCampaign, form: url.Values{"department_id": {"1"}, "items": {"营业执照"}}},
		"GET /console/campaigns/:id/letters/targets/:credit_code":  {roles: api.StaffOnly, path: (*walk).letterTarget},
		"POST /console/campaigns/:id/letters/targets/:credit_code": {roles: api.Coordinators, path: (*walk).letterTarget, form: url.Values{"delivered_on": {"2026-11-02"}, "method": {"in_person"}}},
		"GET /console/campaigns/:id/letters/proof":                 {roles: api.StaffOnly, path: (*walk).letterProof},
		// After the visit (aftervisit_walk_test.go). A POST's form is
		// refused by the page or the service once past the role gate, so
		// the walk changes nothing.
		"GET /console/results":                          {roles: api.AnyRole},
		"GET /console/results/overdue":                  {roles: api.StaffOnly},
		"GET /console/results/:id":                      {roles: api.AnyRole, param: (*walk).approvedResult},
		"POST /console/results/:id/enter":               {roles: api.DeptStaff, param: (*walk).draftResult},
		"POST /console/results/:id/return":              {roles: api.DeptStaff, param: (*walk).draftResult},
		"POST /console/results/:id/approve":             {roles: api.DeptStaff, param: (*walk).draftResult},
		"POST /console/results/:id/reopen":              {roles: api.DeptAdmins, param: (*walk).approvedResult},
		"GET /console/packets/:id/record.pdf":           {roles: api.AnyRole, param: (*walk).visitedPacket},
		"GET /console/attachments/:id":                  {roles: api.AnyRole, param: (*walk).signature},
		"GET /console/enterprises/:id/inspections":      {roles: api.StaffOnly, param: (*walk).visitedEnterprise},
		"GET /console/publication":                      {roles: api.Coordinators},
		"GET /console/campaigns/:id/publication":        {roles: api.Coordinators, param: (*walk).visitedCampaign},
		"POST /console/campaigns/:id/publication":       {roles: api.Coordinators, param: (*walk).publicCampaign},
		"GET /console/campaigns/:id/publication-export": {roles: api.Coordinators, param: (*walk).visitedCampaign},
		"GET /console/followups":                        {roles: api.AnyRole},
		"GET /console/followups/:id":                    {roles: api.AnyRole, param: (*walk).followUpID},
		"POST /console/followups/:id/assign":            {roles: api.DeptAdmins, param: (*walk).followUpID},
		"POST /console/followups/:id/start":             {roles: api.DeptStaff, param: (*walk).noFollowUp},
		"POST /console/followups/:id/actions":           {roles: api.DeptStaff, param: (*walk).followUpID},
		"POST /console/followups/:id/request-closure":   {roles: api.DeptStaff, param: (*walk).followUpID},
		"POST /console/followups/:id/refuse":            {roles: api.DeptAdmins, param: (*walk).followUpID},
		"POST /console/followups/:id/close":             {roles: api.DeptAdmins, param: (*walk).noFollowUp},
		"GET /console/evidence/*":                       {roles: api.AnyRole, param: (*walk).evidencePath},
	}
}

// walk makes the objects the pages are tried on.
type walk struct {
	h      *apptest.Harness
	issued *apptest.Issued
	admin  adminWalk // the directory and administration screens' objects
	// Campaign screens.
	draftID, checkItemID int64
}

func (w *walk) campaign(t *testing.T) *apptest.Issued {
	if w.issued == nil {
		w.issued = w.h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, District: "巡查区"})
	}
	return w.issued
}

func (w *walk) publicCampaign(t *testing.T) string {
	return fmt.Sprint(w.campaign(t).Campaign.ID)
}

// draft is a draft campaign of department A, for the draft's pages.
func (w *walk) draft(t *testing.T) string {
	if w.draftID == 0 {
		is := w.campaign(t)
		c := &server.Campaign{
			Name: "走查草稿", LeadDepartmentID: w.h.DeptA.ID, DepartmentIDs: []int64{w.h.DeptA.ID},
			WindowStart: is.Campaign.WindowStart, WindowEnd: is.Campaign.WindowEnd,
			Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.5"},
			InspectorsPerDepartment: 1, TargetsPerTeam: 1,
			RandomnessSources: []string{"走查用随机数"}, SourcesAvailableAt: w.h.SourcesAvailableAt(),
		}
		if err := w.h.App.Campaigns.CreateCampaign(server.NewContextWithUser(context.Background(), w.h.Users["root"]), c); err != nil {
			t.Fatal(err)
		}
		w.draftID = c.ID
	}
	return fmt.Sprint(w.draftID)
}

// checkItem is a current check item of department A, retired by the
// first admin who tries: the others get the page with the conflict.
func (w *walk) checkItem(t *testing.T) string {
	if w.checkItemID == 0 {
		it := &server.CheckItem{DepartmentID: w.h.DeptA.ID, Code: "WALK-RETIRE", Title: "走查停用事项"}
		if err := w.h.App.CheckItems.CreateCheckItem(server.NewContextWithUser(context.Background(), w.h.Users["root"]), it); err != nil {
			t.Fatal(err)
		}
		w.checkItemID = it.ID
	}
	return fmt.Sprint(w.checkItemID)
}

func (w *walk) creditCode(t *testing.T) string {
	return w.campaign(t).Packets[0].Content.Enterprise.CreditCode
}

// pageRoutes are the router's routes whose handlers are the pages'.
func pageRoutes(h *apptest.Harness) map[string]bool {
	out := map[string]bool{}
	for _, r := range h.App.API.Routes() {
		if strings.HasPrefix(r.Name, "github.com/spotcheck/spotcheck/server/web.") {
			out[r.Method+" "+r.Path] = true
		}
	}
	return out
}

func TestPageAuthorization(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		pol := policies()
		routes := pageRoutes(h)
		for key := range routes {
			if _, ok := pol[key]; !ok {
				t.Errorf("page %s has no policy in routes_test.go", key)
			}
		}
		for key := range pol {
			if !routes[key] {
				t.Errorf("policy for %s, which is not a page route", key)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		clients := map[string]*client{"": newClient(t, h)}
		for _, a := range actors[1:] {
			clients[a] = newClient(t, h)
			clients[a].login(t, a)
		}
		w := &walk{h: h}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range pol {
				if !yield(k) {
					return
				}
			}
		})
		for _, key := range keys {
			p := pol[key]
			method, pattern, _ := strings.Cut(key, " ")
			path := pattern
			if p.param != nil {
				v := p.param(w, t)
				path = strings.NewReplacer(":id", v, ":credit_code", v, "*", v).Replace(pattern)
			}
			if p.path != nil {
				path = p.path(w, t)
			}
			for _, actor := range actors {
				c := clients[actor]
				if p.fresh && actor != "" {
					c = newClient(t, h)
					c.login(t, actor)
				}
				var r *page
				if method == http.MethodPost {
					form := url.Values{}
					for k, v := range p.form {
						form[k] = slices.Clone(v)
					}
					// A public page's token is a session-less one, as the
					// sign-in form's; a console page's is bound to the session.
					from := "/console/password"
					if p.public || actor == "" {
						from = "/"
					}
					r = c.post(t, from, path, form)
				} else {
					r = c.get(t, path)
				}
				var role server.Role
				if actor != "" {
					role = h.Users[actor].Role
				}
				where := fmt.Sprintf("%s %s as %q: %d %s", method, path, actor, r.Status, r.Header.Get("Location"))
				if !strings.HasPrefix(pattern, "/assets/") && r.Header.Get("Content-Security-Policy") != web.ContentSecurityPolicy {
					t.Errorf("%s: Content-Security-Policy %q", where, r.Header.Get("Content-Security-Policy"))
				}
				if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") == "" {
					t.Errorf("%s: security headers missing: %v", where, r.Header)
				}
				if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					if words := englishWords(r.Body); len(words) > 0 {
						t.Errorf("%s: the page shows English words %q", where, words)
					}
				}
				toLogin := isToLogin(r)
				switch {
				case p.public:
					if r.Status >= 400 && !(key == "POST /console/login" && r.Status == http.StatusUnauthorized) || toLogin && key != "GET /console" {
						t.Errorf("%s: public page refused", where)
					}
				case actor == "":
					if !toLogin {
						t.Errorf("%s: want a redirect to the sign-in form", where)
					}
				case !slices.Contains(p.roles, role):
					if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "无权访问") {
						t.Errorf("%s: want the 403 page for role %s", where, role)
					}
				case p.fresh:
					// Signed out: the sign-in form says so, and the session is over.
					if !toLogin || !strings.Contains(c.get(t, "/console/login").Body, "已退出登录") || !isToLogin(c.get(t, "/console/")) {
						t.Errorf("%s: want signed out", where)
					}
				default:
					if r.Status == http.StatusForbidden || r.Status >= 500 || toLogin {
						t.Errorf("%s: want the page allowed: %s", where, r.Body)
					}
				}
			}
		}
	})
}

// isToLogin reports whether r sends the browser to the sign-in form.
func isToLogin(r *page) bool {
	return r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/console/login")
}
