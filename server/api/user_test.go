package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestUserAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, adminB := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, inspA1 := h.Token(t, "coord-a"), h.Token(t, "insp-a1")
		var bodies [][]byte // every successful response, checked for secrets at the end
		do := func(method, path, token string, body any) *apptest.Response {
			r := h.Do(t, method, path, token, body)
			if r.Status < 300 { // errors may echo a rejected field's name
				bodies = append(bodies, r.Body)
			}
			return r
		}
		list := func(t *testing.T, path, token string) api.List[api.User] {
			t.Helper()
			var l api.List[api.User]
			r := h.MustDo(t, "GET", path, token, nil, http.StatusOK, &l)
			bodies = append(bodies, r.Body)
			return l
		}
		userPath := func(name string) string { return fmt.Sprintf("/v1/users/%d", h.Users[name].ID) }

		t.Run("Index", func(t *testing.T) {
			all := list(t, "/v1/users", root)
			if all.Total != len(h.Users) || len(all.Items) != len(h.Users) {
				t.Fatalf("root sees %d of %d users", all.Total, len(h.Users))
			}
			a := list(t, "/v1/users", adminA)
			if a.Total != 4 {
				t.Fatalf("admin-a sees %d users, want the 4 of department A", a.Total)
			}
			for _, u := range a.Items {
				if u.DepartmentID == nil || *u.DepartmentID != h.DeptA.ID {
					t.Fatalf("admin-a sees %s of another department", u.Username)
				}
			}
			if b := list(t, "/v1/users", adminB); b.Total != 4 || b.Items[0].DepartmentID == nil || *b.Items[0].DepartmentID != h.DeptB.ID {
				t.Fatalf("admin-b sees %d users", b.Total)
			}
			if l := list(t, fmt.Sprintf("/v1/users?department_id=%d", h.DeptB.ID), adminA); l.Total != 0 {
				t.Fatalf("admin-a filtered to department B sees %d users", l.Total)
			}
			if l := list(t, "/v1/users?role=inspector", root); l.Total != 4 {
				t.Fatalf("%d inspectors, want 4", l.Total)
			}
			if l := list(t, "/v1/users?limit=2&offset=1", root); l.Total != len(h.Users) || len(l.Items) != 2 {
				t.Fatalf("page: total %d, %d items", l.Total, len(l.Items))
			}
			for _, tok := range []string{coordA, inspA1} {
				acctWant(t, do("GET", "/v1/users", tok, nil), http.StatusForbidden, syncproto.CodeForbidden)
			}
			acctWant(t, do("GET", "/v1/users?role=king", root, nil), http.StatusBadRequest, syncproto.CodeInvalid)
			acctWant(t, do("GET", "/v1/users?department_id=x", root, nil), http.StatusBadRequest, syncproto.CodeInvalid)
			acctWant(t, do("GET", "/v1/users", "", nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		})

		t.Run("Create", func(t *testing.T) {
			var u api.User
			r := h.MustDo(t, "POST", "/v1/users", root, api.CreateUserRequest{
				Username: "admin-b2", DisplayName: "市场监管局管理员", Password: "a-long-enough-password",
				Role: "department_admin", DepartmentID: &h.DeptB.ID,
			}, http.StatusCreated, &u)
			bodies = append(bodies, r.Body)
			if u.ID == 0 || u.Username != "admin-b2" || u.Role != "department_admin" || u.DepartmentID == nil || *u.DepartmentID != h.DeptB.ID || u.Disabled {
				t.Fatalf("created %+v", u)
			}
			h.MustDo(t, "POST", syncproto.PathLogin, "", syncproto.LoginRequest{Username: "admin-b2", Password: "a-long-enough-password"}, http.StatusOK, nil)

			r = h.MustDo(t, "POST", "/v1/users", adminA, api.CreateUserRequest{
				Username: "coord-a2", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: &h.DeptA.ID,
			}, http.StatusCreated, nil)
			bodies = append(bodies, r.Body)

			for name, tc := range map[string]struct {
				token  string
				body   any
				status int
				code   string
			}{
				"ErrOtherDepartment":  {adminA, api.CreateUserRequest{Username: "x1", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: &h.DeptB.ID}, 403, syncproto.CodeForbidden},
				"ErrPlatformAdmin":    {adminA, api.CreateUserRequest{Username: "x2", Password: "a-long-enough-password", Role: "platform_admin"}, 403, syncproto.CodeForbidden},
				"ErrCoordinator":      {coordA, api.CreateUserRequest{Username: "x3", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: &h.DeptA.ID}, 403, syncproto.CodeForbidden},
				"ErrInspector":        {inspA1, api.CreateUserRequest{Username: "x4", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: &h.DeptA.ID}, 403, syncproto.CodeForbidden},
				"ErrTaken":            {root, api.CreateUserRequest{Username: "admin-a", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: &h.DeptA.ID}, 409, syncproto.CodeConflict},
				"ErrShortPassword":    {root, api.CreateUserRequest{Username: "x5", Password: "short", Role: "lead_coordinator", DepartmentID: &h.DeptA.ID}, 400, syncproto.CodeInvalid},
				"ErrNoDepartment":     {root, api.CreateUserRequest{Username: "x6", Password: "a-long-enough-password", Role: "lead_coordinator"}, 400, syncproto.CodeInvalid},
				"ErrUnknownRole":      {root, api.CreateUserRequest{Username: "x7", Password: "a-long-enough-password", Role: "king"}, 400, syncproto.CodeInvalid},
				"ErrNoInspector":      {root, api.CreateUserRequest{Username: "x8", Password: "a-long-enough-password", Role: "inspector", DepartmentID: &h.DeptA.ID}, 400, syncproto.CodeInvalid},
				"ErrMassAssignment":   {root, `{"username":"x9","password":"a-long-enough-password","role":"lead_coordinator","department_id":1,"password_hash":"$argon2id$x"}`, 400, syncproto.CodeInvalid},
				"ErrMassAssignDisabl": {root, `{"username":"x10","password":"a-long-enough-password","role":"lead_coordinator","department_id":1,"id":1}`, 400, syncproto.CodeInvalid},
				"ErrMissingDept":      {root, api.CreateUserRequest{Username: "x11", Password: "a-long-enough-password", Role: "lead_coordinator", DepartmentID: acctPtr(int64(999999))}, 400, syncproto.CodeInvalid},
			} {
				t.Run(name, func(t *testing.T) { acctWant(t, do("POST", "/v1/users", tc.token, tc.body), tc.status, tc.code) })
			}
		})

		t.Run("CreateInspectorAccount", func(t *testing.T) {
			ctx := app.SystemContext(context.Background())
			newInspector := func(dept *server.Department, cert string) *server.Inspector {
				in := &server.Inspector{
					DepartmentID: dept.ID, Name: "新执法员", CertificateNumber: cert,
					CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
					Status: server.InspectorActive,
				}
				if err := h.App.Inspectors.CreateInspector(ctx, in); err != nil {
					t.Fatal(err)
				}
				return in
			}
			inA, inB := newInspector(h.DeptA, "CULTURE-0901"), newInspector(h.DeptB, "MARKET-0901")
			var u api.User
			h.MustDo(t, "POST", "/v1/users", adminA, api.CreateUserRequest{
				Username: "insp-a9", Password: "a-long-enough-password", Role: "inspector", DepartmentID: &h.DeptA.ID, InspectorID: &inA.ID,
			}, http.StatusCreated, &u)
			if u.InspectorID == nil || *u.InspectorID != inA.ID {
				t.Fatalf("created %+v", u)
			}
			// Another department's inspector is as good as missing to admin-a.
			acctWant(t, do("POST", "/v1/users", adminA, api.CreateUserRequest{
				Username: "insp-a10", Password: "a-long-enough-password", Role: "inspector", DepartmentID: &h.DeptA.ID, InspectorID: &inB.ID,
			}), http.StatusNotFound, syncproto.CodeNotFound)
			// One account per inspector.
			acctWant(t, do("POST", "/v1/users", root, api.CreateUserRequest{
				Username: "insp-a11", Password: "a-long-enough-password", Role: "inspector", DepartmentID: &h.DeptA.ID, InspectorID: &inA.ID,
			}), http.StatusConflict, syncproto.CodeConflict)
		})

		t.Run("View", func(t *testing.T) {
			var u api.User
			r := h.MustDo(t, "GET", userPath("coord-a"), adminA, nil, http.StatusOK, &u)
			bodies = append(bodies, r.Body)
			if u.Username != "coord-a" {
				t.Fatalf("got %+v", u)
			}
			h.MustDo(t, "GET", userPath("insp-a1"), inspA1, nil, http.StatusOK, nil) // themself
			h.MustDo(t, "GET", userPath("coord-b"), root, nil, http.StatusOK, nil)
			for _, tc := range []struct{ token, path string }{
				{adminA, userPath("coord-b")}, {adminA, userPath("admin-b")}, {adminA, userPath("root")},
				{inspA1, userPath("insp-a2")}, {coordA, userPath("admin-a")},
				{root, "/v1/users/999999"}, {root, "/v1/users/abc"}, {root, "/v1/users/-1"},
			} {
				acctWant(t, do("GET", tc.path, tc.token, nil), http.StatusNotFound, syncproto.CodeNotFound)
			}
		})

		t.Run("Disable", func(t *testing.T) {
			acctWant(t, do("POST", userPath("coord-b")+"/disable", adminA, nil), http.StatusNotFound, syncproto.CodeNotFound)
			acctWant(t, do("POST", userPath("root")+"/disable", adminA, nil), http.StatusNotFound, syncproto.CodeNotFound)
			acctWant(t, do("POST", userPath("admin-a")+"/disable", adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
			acctWant(t, do("POST", userPath("insp-a2")+"/disable", inspA1, nil), http.StatusForbidden, syncproto.CodeForbidden)
			acctWant(t, do("POST", userPath("insp-a2")+"/disable", coordA, nil), http.StatusForbidden, syncproto.CodeForbidden)
			var u api.User
			r := h.MustDo(t, "POST", userPath("insp-a2")+"/disable", adminA, nil, http.StatusOK, &u)
			bodies = append(bodies, r.Body)
			if !u.Disabled || u.Username != "insp-a2" {
				t.Fatalf("after disable: %+v", u)
			}
			// Disabling again is harmless.
			h.MustDo(t, "POST", userPath("insp-a2")+"/disable", root, nil, http.StatusOK, nil)
			var l api.List[api.User]
			h.MustDo(t, "GET", "/v1/users?role=inspector", adminA, nil, http.StatusOK, &l)
			for _, it := range l.Items {
				if it.Username == "insp-a2" && !it.Disabled {
					t.Fatal("list shows insp-a2 enabled")
				}
			}
		})

		acctNoSecrets(t, bodies...)
	})
}

// TestAccountRoutesScoped walks every account route that takes an id and
// checks that department A's admin gets 404 for department B's objects, so a
// new route cannot slip through.
func TestAccountRoutesScoped(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		dev := acctRegisterDevice(t, h, h.Token(t, "insp-b1"), "B组终端")
		adminA := h.Token(t, "admin-a")
		ids := map[string]int64{"/v1/users/": h.Users["coord-b"].ID, "/v1/devices/": dev.ID}
		bodies := map[string]any{"/v1/devices/:id/revoke": RevokeBody("测试 (test)")}
		n := 0
		for _, rt := range h.App.API.Routes() {
			for prefix, id := range ids {
				rest, ok := strings.CutPrefix(rt.Path, prefix+":id")
				if !ok {
					continue
				}
				path := fmt.Sprintf("%s%d%s", prefix, id, rest)
				r := h.Do(t, rt.Method, path, adminA, bodies[rt.Path])
				if r.Status != http.StatusNotFound || r.Error().Code != syncproto.CodeNotFound {
					t.Errorf("%s %s as admin-a on department B: %d %s", rt.Method, rt.Path, r.Status, r.Body)
				}
				n++
			}
		}
		if n < 4 {
			t.Fatalf("walked %d routes, want at least the 4 user and device routes with an id", n)
		}
		// Nothing changed: the device still works and coord-b can sign in.
		var d syncproto.Device
		h.MustDo(t, "GET", fmt.Sprintf("/v1/devices/%d", dev.ID), h.Token(t, "root"), nil, http.StatusOK, &d)
		if d.RevokedAt != nil {
			t.Fatal("admin-a revoked department B's device")
		}
		h.Login(t, "coord-b")
	})
}

func acctPtr[T any](v T) *T { return &v }
