package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The route walk: every route the router has must have a policy here, and
// every role is tried against it, with objects of its own department and of
// the other one. A new route without a policy fails the test, so no route
// can escape authorization by being forgotten.

// actors are the callers tried on every route; all but root belong to department A.
var actors = []string{"", "root", "admin-a", "coord-a", "insp-a1"}

// policy is who may call one route.
type policy struct {
	public bool
	// metrics: only the metrics token opens the route, which no account has.
	metrics bool
	// roles may call the route (for routes with an object: on objects of their
	// own department, or their own objects for inspectors). Platform admins
	// are listed like any other role.
	roles []server.Role
	// object creates a fresh object in department "a" or "b" and returns the
	// path to request; nil for routes without an object.
	object func(w *walk, t *testing.T, dept string) string
	// ownOnly: an inspector may use the route only on objects that are their own;
	// the walk's objects never are, so inspectors are expected to be refused.
	ownOnly bool
	body    any
}

var (
	all       = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator, server.RoleInspector}
	staff     = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleLeadCoordinator}
	admins    = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin}
	platform  = []server.Role{server.RolePlatformAdmin}
	inspector = []server.Role{server.RoleInspector}
	// coordinators run campaigns: platform admins, and lead coordinators of the lead department.
	coordinators = []server.Role{server.RolePlatformAdmin, server.RoleLeadCoordinator}
	// adminsAndInspectors: admins for their department, inspectors for their own.
	adminsAndInspectors = []server.Role{server.RolePlatformAdmin, server.RoleDepartmentAdmin, server.RoleInspector}
	// deptStaff: a department's admin and inspectors (entry and review of its results).
	deptStaff = []server.Role{server.RoleDepartmentAdmin, server.RoleInspector}
	// deptAdmin: a department's admin alone (reopening its approved results).
	deptAdmin = []server.Role{server.RoleDepartmentAdmin}
	// deptAdmins: a department's admin (assigning and closing its follow-ups).
	deptAdmins = []server.Role{server.RoleDepartmentAdmin}
)

func policies() map[string]policy {
	return map[string]policy{
		"GET /healthz": {public: true},
		"GET /readyz":  {public: true},
		"GET /metrics": {metrics: true},
		// The API's own reference (openapi.go).
		"GET /openapi.json":       {public: true},
		"GET /api-docs":           {public: true},
		"GET /api-docs/style.css": {public: true},
		"POST /v1/auth/login":     {public: true, body: syncproto.LoginRequest{Username: "x", Password: "y"}},
		"POST /v1/auth/refresh":   {public: true, body: syncproto.RefreshRequest{RefreshToken: "x"}},
		"POST /v1/auth/logout":    {public: true, body: syncproto.LogoutRequest{RefreshToken: "x"}},
		"GET /v1/me":              {roles: all},
		"POST /v1/me/password":    {roles: all, body: syncproto.ChangePasswordRequest{CurrentPassword: "x", NewPassword: "y"}},

		"GET /v1/departments":       {roles: all},
		"POST /v1/departments":      {roles: platform, body: map[string]string{"code": "x", "name": "X"}},
		"GET /v1/departments/:id":   {roles: all, object: (*walk).department},
		"PATCH /v1/departments/:id": {roles: platform, object: (*walk).department, body: map[string]string{}},

		"GET /v1/enterprises":       {roles: staff},
		"POST /v1/enterprises":      {roles: platform, body: map[string]string{}},
		"GET /v1/enterprises/:id":   {roles: staff, object: (*walk).enterprise},
		"PATCH /v1/enterprises/:id": {roles: platform, object: (*walk).enterprise, body: map[string]string{}},

		"GET /v1/inspectors":       {roles: all},
		"POST /v1/inspectors":      {roles: admins, body: map[string]string{}},
		"GET /v1/inspectors/:id":   {roles: all, ownOnly: true, object: (*walk).inspector},
		"PATCH /v1/inspectors/:id": {roles: admins, object: (*walk).inspector, body: map[string]string{}},

		"GET /v1/declarations":               {roles: all},
		"POST /v1/declarations":              {roles: adminsAndInspectors, body: map[string]string{}},
		"GET /v1/declarations/:id":           {roles: all, ownOnly: true, object: (*walk).declaration},
		"POST /v1/declarations/:id/withdraw": {roles: adminsAndInspectors, ownOnly: true, object: (*walk).declaration, body: map[string]string{"reason": "walk"}},
		"POST /v1/declarations/:id/approve":  {roles: admins, object: (*walk).pendingDeclaration, body: map[string]string{}},
		"POST /v1/declarations/:id/reject":   {roles: admins, object: (*walk).pendingDeclaration, body: map[string]string{"reason": "walk"}},

		"GET /v1/users":                     {roles: admins},
		"POST /v1/users":                    {roles: admins, body: map[string]string{}},
		"GET /v1/users/:id":                 {roles: adminsAndInspectors, ownOnly: true, object: (*walk).user},
		"POST /v1/users/:id/disable":        {roles: admins, object: (*walk).user, body: map[string]string{}},
		"POST /v1/users/:id/password-reset": {roles: admins, object: (*walk).user},

		"GET /v1/devices":             {roles: all},
		"POST /v1/devices":            {roles: inspector, body: map[string]string{}},
		"GET /v1/devices/:id":         {roles: adminsAndInspectors, ownOnly: true, object: (*walk).device},
		"POST /v1/devices/:id/revoke": {roles: admins, object: (*walk).device, body: map[string]string{"reason": "walk"}},
		// A JSON body is not an archive: an allowed caller gets 415.
		"POST /v1/devices/:id/import": {roles: admins, object: (*walk).device, body: "not an archive"},

		"POST /v1/imports/enterprises": {roles: platform, body: "credit_code\n"},
		"POST /v1/imports/inspectors":  {roles: admins, body: "certificate_number\n"},

		"GET /v1/check-items":                {roles: all},
		"POST /v1/check-items":               {roles: admins, body: map[string]string{}},
		"POST /v1/check-items/:id/retire":    {roles: admins, object: (*walk).checkItem, body: map[string]string{}},
		"GET /v1/campaigns":                  {roles: staff},
		"POST /v1/campaigns":                 {roles: coordinators, body: map[string]string{}},
		"GET /v1/campaigns/:id":              {roles: staff, object: (*walk).campaign},
		"PATCH /v1/campaigns/:id":            {roles: coordinators, object: (*walk).campaign, body: map[string]string{}},
		"POST /v1/campaigns/:id/commit":      {roles: coordinators, object: (*walk).campaign, body: map[string]string{}},
		"POST /v1/campaigns/:id/draw":        {roles: coordinators, object: (*walk).campaign, body: map[string][]string{"randomness": {"1"}}},
		"GET /v1/campaigns/:id/selections":   {roles: staff, object: (*walk).campaign},
		"GET /public/campaigns":              {public: true},
		"GET /public/campaigns/:id/manifest": {public: true, object: (*walk).publicCampaign},
		"GET /public/campaigns/:id/record":   {public: true, object: (*walk).publicCampaign},

		"POST /v1/campaigns/:id/confirm":      {roles: admins, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/confirmations": {roles: staff, object: (*walk).drawnCampaign},
		"POST /v1/campaigns/:id/replacements": {roles: staff, object: (*walk).drawnCampaign, body: map[string]string{"credit_code": "x", "reason": "walk"}},
		"GET /v1/campaigns/:id/replacements":  {roles: staff, object: (*walk).drawnCampaign},
		"POST /v1/campaigns/:id/teams":        {roles: coordinators, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/teams":         {roles: staff, object: (*walk).drawnCampaign},
		"POST /v1/campaigns/:id/packets":      {roles: coordinators, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/packets":       {roles: staff, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/letters.pdf":   {roles: staff, object: (*walk).drawnCampaign},
		// Letter deliveries: the lead coordinators record, participating staff read.
		"POST /v1/campaigns/:id/letters/deliveries":     {roles: coordinators, object: (*walk).drawnCampaign, body: map[string]string{}},
		"GET /v1/campaigns/:id/letters/deliveries":      {roles: staff, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/letters/unserved":        {roles: staff, object: (*walk).drawnCampaign},
		"POST /v1/campaigns/:id/letters/proofs":         {roles: coordinators, object: (*walk).drawnCampaign, body: "not a scan"},
		"GET /v1/campaigns/:id/letters/proofs":          {roles: staff, object: (*walk).drawnCampaign},
		"GET /v1/packets/:id":                           {roles: all, ownOnly: true, object: (*walk).packet},
		"GET /v1/packets/:id/record":                    {roles: all, ownOnly: true, object: (*walk).packetRecord},
		"GET /v1/packets/:id/record.pdf":                {roles: all, ownOnly: true, object: (*walk).packetRecord},
		"GET /v1/campaigns/:id/grouping-report":         {roles: staff, object: (*walk).drawnCampaign},
		"POST /v1/campaigns/:id/grouping-report/filing": {roles: admins, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/grouping-report/filings": {roles: staff, object: (*walk).drawnCampaign},
		"GET /v1/campaigns/:id/recusal-openings":        {roles: coordinators, object: (*walk).drawnCampaign},

		"GET /v1/audit/head":   {roles: platform},
		"GET /v1/audit/verify": {roles: platform},

		// Field sync: device-bound inspectors only. The walk sends no protocol
		// header, so an allowed call ends in 426 from the check that follows
		// the role gate; sync_test.go covers the device and protocol checks.
		"POST /v1/sync/push":                {roles: inspector, body: syncproto.PushRequest{}},
		"POST /v1/sync/pull":                {roles: inspector, body: syncproto.PullRequest{}},
		"POST /v1/sync/attachments/missing": {roles: inspector, body: syncproto.MissingRequest{}},
		"POST /v1/sync/attachments/batch":   {roles: inspector},
		"POST /v1/uploads":                  {roles: inspector},
		"HEAD /v1/uploads/:id":              {roles: inspector},
		"PATCH /v1/uploads/:id":             {roles: inspector},
		"GET /v1/attachments/:id":           {roles: all, object: (*walk).attachment},

		// After the visit: entry and review by a department's own staff.
		"GET /v1/result-codes":                         {roles: all},
		"POST /v1/result-codes":                        {roles: platform, body: map[string]string{}},
		"PATCH /v1/result-codes/:id":                   {roles: platform, object: (*walk).resultCode, body: map[string]string{}},
		"GET /v1/results":                              {roles: all},
		"GET /v1/results/overdue":                      {roles: staff},
		"GET /v1/results/:id":                          {roles: all, ownOnly: true, object: (*walk).result},
		"POST /v1/results/:id/enter":                   {roles: deptStaff, ownOnly: true, object: (*walk).result, body: map[string]string{}},
		"POST /v1/results/:id/return":                  {roles: deptStaff, ownOnly: true, object: (*walk).result, body: map[string]string{"reason": "walk"}},
		"POST /v1/results/:id/approve":                 {roles: deptStaff, ownOnly: true, object: (*walk).result, body: map[string]string{}},
		"GET /v1/enterprises/:id/inspections":          {roles: staff, object: (*walk).recordEnterprise},
		"GET /v1/campaigns/:id/result-deadlines":       {roles: staff, object: (*walk).campaign},
		"PATCH /v1/campaigns/:id/result-deadlines":     {roles: coordinators, object: (*walk).campaign, body: map[string]string{}},
		"POST /v1/results/:id/reopen":                  {roles: deptAdmin, object: (*walk).result, body: map[string]string{"reason": "walk"}},
		"POST /v1/campaigns/:id/publication":           {roles: coordinators, object: (*walk).campaign, body: map[string]string{}},
		"GET /v1/campaigns/:id/publication-export":     {roles: coordinators, object: (*walk).campaign},
		"GET /public/campaigns/:id/results":            {public: true, object: (*walk).publicCampaign},
		"GET /public/enterprises/:credit_code/results": {public: true},

		// Follow-up: worked by the assignee (never the walk's inspector) and the department's admin.
		"GET /v1/followups":                      {roles: all},
		"GET /v1/followups/:id":                  {roles: all, ownOnly: true, object: (*walk).followUp},
		"POST /v1/followups/:id/assign":          {roles: deptAdmins, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/start":           {roles: deptStaff, ownOnly: true, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/actions":         {roles: deptStaff, ownOnly: true, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/request-closure": {roles: deptStaff, ownOnly: true, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/refuse":          {roles: deptAdmins, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/close":           {roles: deptAdmins, object: (*walk).followUp, body: map[string]string{}},
		"POST /v1/followups/:id/evidence":        {roles: deptStaff, ownOnly: true, object: (*walk).followUp, body: "not an image"},
		"GET /v1/followups/:id/evidence":         {roles: all, ownOnly: true, object: (*walk).followUp},
		"GET /v1/abnormal-operations/candidates": {roles: staff},
	}
}

// sharedObjects are routes whose objects belong to no department (the shared
// directories), so "the other department's object" does not apply.
var sharedObjects = map[string]bool{
	"GET /v1/departments/:id": true, "PATCH /v1/departments/:id": true,
	"GET /v1/enterprises/:id": true, "PATCH /v1/enterprises/:id": true,
	"GET /public/campaigns/:id/manifest": true, "GET /public/campaigns/:id/record": true,
	"PATCH /v1/result-codes/:id": true, "GET /v1/enterprises/:id/inspections": true,
	"GET /public/campaigns/:id/results": true,
}

// walk creates the objects the routes are tried on.
type walk struct {
	h *apptest.Harness
	n atomic.Int64
}

func (w *walk) dept(d string) *server.Department {
	if d == "a" {
		return w.h.DeptA
	}
	return w.h.DeptB
}

func (w *walk) department(t *testing.T, d string) string {
	return fmt.Sprintf("/v1/departments/%d", w.dept(d).ID)
}

func (w *walk) enterprise(t *testing.T, d string) string {
	return w.enterpriseIn(t, "思明区")
}

// enterpriseIn adds an internet café in district.
func (w *walk) enterpriseIn(t *testing.T, district string) string {
	e := &server.Enterprise{
		CreditCode: creditCode(w.n.Add(1)), Name: "网吧", Category: server.CategoryInternetCafe,
		District: district, Status: server.EnterpriseActive,
	}
	if err := w.h.App.Enterprises.CreateEnterprise(app.SystemContext(context.Background()), e); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/v1/enterprises/%d", e.ID)
}

func (w *walk) newInspector(t *testing.T, d string) *server.Inspector {
	n := w.n.Add(1)
	in := &server.Inspector{
		DepartmentID: w.dept(d).ID, Name: "走查员", CertificateNumber: fmt.Sprintf("WALK-%s-%d", d, n),
		CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2029, Month: 1, Day: 1},
		Phone: "13700000000", Status: server.InspectorActive,
	}
	if err := w.h.App.Inspectors.CreateInspector(app.SystemContext(context.Background()), in); err != nil {
		t.Fatal(err)
	}
	return in
}

func (w *walk) inspector(t *testing.T, d string) string {
	return fmt.Sprintf("/v1/inspectors/%d", w.newInspector(t, d).ID)
}

func (w *walk) declaration(t *testing.T, d string) string {
	in := w.newInspector(t, d)
	ePath := w.enterprise(t, d)
	var eid int64
	fmt.Sscanf(ePath, "/v1/enterprises/%d", &eid)
	decl := &server.Declaration{InspectorID: in.ID, EnterpriseID: eid, Reason: "亲属"}
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	if err := w.h.App.Declarations.CreateDeclaration(root, decl); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/v1/declarations/%d", decl.ID)
}

// pendingDeclaration is a declaration an inspector of department d made
// about themself, waiting for review.
func (w *walk) pendingDeclaration(t *testing.T, d string) string {
	u := w.newInspectorUser(t, d)
	ePath := w.enterprise(t, d)
	var eid int64
	fmt.Sscanf(ePath, "/v1/enterprises/%d", &eid)
	decl := &server.Declaration{InspectorID: *u.InspectorID, EnterpriseID: eid, Reason: "亲属"}
	if err := w.h.App.Declarations.CreateDeclaration(server.NewContextWithUser(context.Background(), u), decl); err != nil {
		t.Fatal(err)
	}
	if decl.Status != server.DeclarationPending {
		t.Fatalf("an inspector's declaration is %s, want pending", decl.Status)
	}
	return fmt.Sprintf("/v1/declarations/%d", decl.ID)
}

func (w *walk) newInspectorUser(t *testing.T, d string) *server.User {
	in := w.newInspector(t, d)
	u := &server.User{
		Username: fmt.Sprintf("walk-%s-%d", d, w.n.Add(1)), Role: server.RoleInspector,
		DepartmentID: &w.dept(d).ID, InspectorID: &in.ID,
	}
	return w.h.AddUser(t, u)
}

func (w *walk) user(t *testing.T, d string) string {
	return fmt.Sprintf("/v1/users/%d", w.newInspectorUser(t, d).ID)
}

func (w *walk) device(t *testing.T, d string) string {
	u := w.newInspectorUser(t, d)
	pub, _, _ := ed25519.GenerateKey(nil)
	dev := &server.Device{Name: "walk", PublicKey: pub}
	if err := w.h.App.Devices.RegisterDevice(server.NewContextWithUser(context.Background(), u), dev); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/v1/devices/%d", dev.ID)
}

func (w *walk) checkItem(t *testing.T, d string) string {
	it := &server.CheckItem{DepartmentID: w.dept(d).ID, Code: fmt.Sprintf("WALK-%d", w.n.Add(1)), Title: "走查事项"}
	if err := w.h.App.CheckItems.CreateCheckItem(app.SystemContext(context.Background()), it); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/v1/check-items/%d", it.ID)
}

// newCampaign creates a draft led by, and with only, department d: the
// "department B object" is a campaign only department B takes part in.
func (w *walk) newCampaign(t *testing.T, d string, commit bool) *server.Campaign {
	root := server.NewContextWithUser(context.Background(), w.h.Users["root"])
	dept := w.dept(d)
	c := &server.Campaign{
		Name: fmt.Sprintf("走查任务%d", w.n.Add(1)), LeadDepartmentID: dept.ID, DepartmentIDs: []int64{dept.ID},
		WindowStart: server.Date{Year: 2026, Month: 12, Day: 1}, WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6},
		Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.15"},
		RandomnessSources: []string{"走查用随机数"}, SourcesAvailableAt: w.h.SourcesAvailableAt(),
	}
	if err := w.h.App.Campaigns.CreateCampaign(root, c); err != nil {
		t.Fatal(err)
	}
	if commit {
		w.enterprise(t, d) // a population of at least one
		if _, err := w.h.App.Campaigns.CommitCampaign(root, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (w *walk) campaign(t *testing.T, d string) string {
	return fmt.Sprintf("/v1/campaigns/%d", w.newCampaign(t, d, false).ID)
}

// publicCampaign is a committed campaign of department A whatever d is:
// public records belong to everyone, and department B's roster is public
// there by design, which the walk's leak check would otherwise flag.
func (w *walk) publicCampaign(t *testing.T, d string) string {
	return fmt.Sprintf("/public/campaigns/%d", w.newCampaign(t, "a", true).ID)
}

// creditCode returns a valid credit code unique to n.
func creditCode(n int64) string {
	body := fmt.Sprintf("%08d", n)
	first17 := "91350203" + body + string(server.OrgCodeCheckChar(body))
	return first17 + string(server.CreditCodeCheckChar(first17))
}

// webHandlers is the name prefix of the pages' handlers (server/web), which
// share the router; their own walk is server/web/routes_test.go.
const webHandlers = "github.com/spotcheck/spotcheck/server/web."

func TestRouteAuthorization(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		pol := policies()
		routes := map[string]bool{}
		for _, r := range h.App.API.Routes() {
			if strings.HasPrefix(r.Name, "github.com/labstack/echo") || r.Path == "/*" || r.Path == "" {
				continue // Echo's own fallback handlers
			}
			if strings.HasPrefix(r.Name, webHandlers) {
				continue // the pages: walked by server/web's routes_test.go
			}
			routes[r.Method+" "+r.Path] = true
		}
		for key := range routes {
			if _, ok := pol[key]; !ok {
				t.Errorf("route %s has no policy in authz_test.go", key)
			}
		}
		for key := range pol {
			if !routes[key] {
				t.Errorf("policy for %s, which is not a route", key)
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		tokens := map[string]string{"": ""}
		for _, a := range actors[1:] {
			tokens[a] = h.Token(t, a)
		}
		// Secrets of department B that no department-A caller may ever see.
		leaks := []string{}
		for name, in := range h.Inspectors {
			if strings.HasPrefix(name, "insp-b") {
				leaks = append(leaks, in.Phone, in.CertificateNumber)
			}
		}
		if len(leaks) == 0 {
			t.Fatal("fixtures have no department-B inspectors")
		}

		w := &walk{h: h}
		keys := make([]string, 0, len(pol))
		for k := range pol {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			p := pol[key]
			method, pattern, _ := strings.Cut(key, " ")
			t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
				for _, actor := range actors {
					var role server.Role
					if actor != "" {
						role = h.Users[actor].Role
					}
					depts := []string{""}
					if p.object != nil {
						depts = []string{"a", "b"}
					}
					for _, d := range depts {
						path := pattern
						if p.object != nil {
							// The object's own path ends in its id; the route may go on ("/withdraw").
							objPath := p.object(w, t, d)
							id := objPath[strings.LastIndex(objPath, "/")+1:]
							path = strings.Replace(pattern, ":id", id, 1)
						}
						r := send(t, h, method, path, tokens[actor], p.body)
						where := fmt.Sprintf("%s as %q on department %q object: status %d: %s", key, actor, d, r.Status, r.Body)
						switch {
						case p.metrics:
							if r.Status != http.StatusUnauthorized {
								t.Errorf("%s: want 401 without the metrics token", where)
							}
						case p.public:
							if r.Status == http.StatusUnauthorized && key != "POST /v1/auth/refresh" && key != "POST /v1/auth/login" {
								t.Errorf("%s: public route refused", where)
							}
						case actor == "":
							if r.Status != http.StatusUnauthorized {
								t.Errorf("%s: want 401 without a token", where)
							}
						case !slices.Contains(p.roles, role) || (p.ownOnly && role == server.RoleInspector):
							if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
								t.Errorf("%s: want 403 or 404 for role %s", where, role)
							}
						case d == "b" && role != server.RolePlatformAdmin && !sharedObjects[key]:
							// Another department's object: hidden, exactly as if it did not exist.
							if r.Status != http.StatusNotFound {
								t.Errorf("%s: want 404 for another department's object", where)
							}
						case role == server.RoleInspector && p.object != nil && !sharedObjects[key]:
							// Not the inspector's own object.
							if r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
								t.Errorf("%s: want 403 or 404 for an object that is not the inspector's", where)
							}
						default:
							// Allowed: the call gets past authorization. Bodies here are
							// minimal, so a 400 is fine; on an object route a 404 is not.
							refused := r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500
							if refused || (p.object != nil && r.Status == http.StatusNotFound) {
								t.Errorf("%s: want the call allowed", where)
							}
						}
						if actor != "" && role != server.RolePlatformAdmin {
							for _, secret := range leaks {
								if bytes.Contains(r.Body, []byte(secret)) {
									t.Errorf("%s: response leaks department B's %q", where, secret)
								}
							}
						}
					}
				}
			})
		}
	})
}

// send sends body as JSON, or as CSV when it is a string.
func send(t *testing.T, h *apptest.Harness, method, path, token string, body any) *apptest.Response {
	t.Helper()
	s, isCSV := body.(string)
	if !isCSV {
		return h.Do(t, method, path, token, body)
	}
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.Send(t, req)
}
