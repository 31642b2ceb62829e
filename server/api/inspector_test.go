package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestInspectorAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, adminB := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, inspA1 := h.Token(t, "coord-a"), h.Token(t, "insp-a1")
		a1, a2, b1 := h.Inspectors["insp-a1"], h.Inspectors["insp-a2"], h.Inspectors["insp-b1"]
		path := func(id int64) string { return fmt.Sprintf("/v1/inspectors/%d", id) }

		var created api.Inspector
		t.Run("Create", func(t *testing.T) {
			// The department defaults to the admin's own; the status to active.
			h.MustDo(t, "POST", "/v1/inspectors", adminA, `{"name":"李四","certificate_number":"CULTURE-0100",
				"certificate_valid_from":"2025-01-01","certificate_valid_until":"2029-12-31",
				"domains":["文化市场","网络文化"],"phone":"13900001100"}`, http.StatusCreated, &created)
			if created.ID == 0 || created.DepartmentID != h.DeptA.ID || created.Status != "active" || created.Phone != "13900001100" ||
				created.CertificateValidFrom.String() != "2025-01-01" || len(created.Domains) != 2 {
				t.Fatalf("created %+v", created)
			}
			var byRoot api.Inspector
			h.MustDo(t, "POST", "/v1/inspectors", root, map[string]any{
				"department_id": h.DeptB.ID, "name": "王五", "certificate_number": "MARKET-0100",
				"certificate_valid_from": "2025-01-01", "certificate_valid_until": "2029-12-31", "status": "on_leave",
			}, http.StatusCreated, &byRoot)
			if byRoot.DepartmentID != h.DeptB.ID || byRoot.Status != "on_leave" || byRoot.Domains == nil {
				t.Fatalf("created %+v", byRoot)
			}
		})
		t.Run("View", func(t *testing.T) {
			var got api.Inspector
			h.MustDo(t, "GET", path(a1.ID), adminA, nil, http.StatusOK, &got)
			if got.CertificateNumber != a1.CertificateNumber || got.Phone != a1.Phone {
				t.Fatalf("view %+v", got)
			}
			// A lead coordinator reads the roster without phones.
			r := h.MustDo(t, "GET", path(a1.ID), coordA, nil, http.StatusOK, &got)
			if got.Name != a1.Name || strings.Contains(string(r.Body), "phone") {
				t.Fatalf("coordinator view: %s", r.Body)
			}
			// An inspector reads their own record, phone included.
			h.MustDo(t, "GET", path(a1.ID), inspA1, nil, http.StatusOK, &got)
			if got.Phone != a1.Phone {
				t.Fatalf("own view %+v", got)
			}
		})
		t.Run("List", func(t *testing.T) {
			var l api.List[api.Inspector]
			h.MustDo(t, "GET", "/v1/inspectors", adminA, nil, http.StatusOK, &l)
			if l.Total != 3 || len(l.Items) != 3 {
				t.Fatalf("admin-a: %+v", l)
			}
			for _, in := range l.Items {
				if in.DepartmentID != h.DeptA.ID {
					t.Fatalf("admin-a lists %+v", in)
				}
			}
			h.MustDo(t, "GET", "/v1/inspectors", root, nil, http.StatusOK, &l)
			if l.Total != 6 {
				t.Fatalf("root: %+v", l)
			}
			h.MustDo(t, "GET", "/v1/inspectors?status=on_leave", root, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].CertificateNumber != "MARKET-0100" {
				t.Fatalf("status: %+v", l)
			}
			h.MustDo(t, "GET", "/v1/inspectors?certificate_number="+a2.CertificateNumber, adminA, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].ID != a2.ID {
				t.Fatalf("certificate_number: %+v", l)
			}
			h.MustDo(t, "GET", fmt.Sprintf("/v1/inspectors?department_id=%d", h.DeptB.ID), adminA, nil, http.StatusOK, &l)
			if l.Total != 0 || len(l.Items) != 0 {
				t.Fatalf("admin-a lists department B: %+v", l)
			}
			// An inspector lists only themself.
			h.MustDo(t, "GET", "/v1/inspectors", inspA1, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].ID != a1.ID {
				t.Fatalf("insp-a1: %+v", l)
			}
		})
		t.Run("Update", func(t *testing.T) {
			var got api.Inspector
			h.MustDo(t, "PATCH", path(a2.ID), adminA, `{"status":"on_leave","certificate_valid_until":"2030-06-30","domains":[]}`, http.StatusOK, &got)
			if got.Status != "on_leave" || got.CertificateValidUntil.String() != "2030-06-30" || len(got.Domains) != 0 ||
				got.Name != a2.Name || got.Phone != a2.Phone || got.DepartmentID != h.DeptA.ID {
				t.Fatalf("updated %+v", got)
			}
			h.MustDo(t, "PATCH", path(b1.ID), root, `{"phone":"13900002999"}`, http.StatusOK, &got)
			if got.Phone != "13900002999" {
				t.Fatalf("updated %+v", got)
			}
		})
		t.Run("ErrBadDates", func(t *testing.T) {
			for _, body := range []string{
				`{"name":"x","certificate_number":"CULTURE-0200","certificate_valid_from":"2025-13-01","certificate_valid_until":"2029-12-31"}`,
				`{"name":"x","certificate_number":"CULTURE-0200","certificate_valid_from":"2025/01/01","certificate_valid_until":"2029-12-31"}`,
				`{"name":"x","certificate_number":"CULTURE-0200","certificate_valid_from":"2025-01-01","certificate_valid_until":"2024-12-31"}`,
				`{"name":"x","certificate_number":"CULTURE-0200","certificate_valid_from":"2025-01-01"}`,
			} {
				wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", adminA, body), http.StatusBadRequest, syncproto.CodeInvalid)
			}
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), adminA, `{"certificate_valid_until":"2023-12-31"}`), http.StatusBadRequest, syncproto.CodeInvalid)
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), adminA, `{"certificate_valid_until":"31/12/2030"}`), http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", adminA, `{"name":"x","certificate_number":"CULTURE-0200",
				"certificate_valid_from":"2025-01-01","certificate_valid_until":"2029-12-31","rank":"科长"}`), http.StatusBadRequest, syncproto.CodeInvalid)
			// The department and the certificate number never change by PATCH.
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), adminA, fmt.Sprintf(`{"department_id":%d}`, h.DeptB.ID)), http.StatusBadRequest, syncproto.CodeInvalid)
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), adminA, `{"certificate_number":"X-1"}`), http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrDuplicateCertificate", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", adminB, `{"name":"x","certificate_number":"CULTURE-0001",
				"certificate_valid_from":"2025-01-01","certificate_valid_until":"2029-12-31"}`), http.StatusConflict, syncproto.CodeConflict)
		})
		t.Run("ErrOtherDepartment", func(t *testing.T) {
			// Creating into another department is refused outright.
			wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", adminA, map[string]any{
				"department_id": h.DeptB.ID, "name": "x", "certificate_number": "MARKET-0200",
				"certificate_valid_from": "2025-01-01", "certificate_valid_until": "2029-12-31",
			}), http.StatusForbidden, syncproto.CodeForbidden)
			// Every route with an id answers 404 for another department's inspector.
			for _, tc := range []struct {
				token string
				id    int64
			}{{adminA, b1.ID}, {adminB, a1.ID}, {coordA, b1.ID}, {inspA1, a2.ID}, {inspA1, b1.ID}} {
				wantHTTPError(t, h.Do(t, "GET", path(tc.id), tc.token, nil), http.StatusNotFound, syncproto.CodeNotFound)
			}
			for _, tc := range []struct {
				token string
				id    int64
			}{{adminA, b1.ID}, {adminB, a1.ID}, {adminA, created.ID + 100}} {
				wantHTTPError(t, h.Do(t, "PATCH", path(tc.id), tc.token, `{"name":"x"}`), http.StatusNotFound, syncproto.CodeNotFound)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			body := `{"name":"x","certificate_number":"CULTURE-0300","certificate_valid_from":"2025-01-01","certificate_valid_until":"2029-12-31"}`
			wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", coordA, body), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "POST", "/v1/inspectors", inspA1, body), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), inspA1, `{"phone":"1"}`), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "PATCH", path(a1.ID), coordA, `{"phone":"1"}`), http.StatusForbidden, syncproto.CodeForbidden)
		})
		t.Run("ErrBadFilter", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "GET", "/v1/inspectors?department_id=x", adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
			wantHTTPError(t, h.Do(t, "GET", "/v1/inspectors?status=retired", adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
		})
	})
}
