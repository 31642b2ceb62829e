package web_test

import (
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
}

func (w *walk) campaign(t *testing.T) *apptest.Issued {
	if w.issued == nil {
		w.issued = w.h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2})
	}
	return w.issued
}

func (w *walk) publicCampaign(t *testing.T) string {
	return fmt.Sprint(w.campaign(t).Campaign.ID)
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
