package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Credit codes that pass both check characters.
const (
	creditCodeA = "91350100M000100Y43"
	creditCodeB = "91350200776049653A"
	creditCodeC = "913502000728319549"
)

// wantHTTPError fails the test unless r has the status and error code.
func wantHTTPError(t *testing.T, r *apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Error().Code != code {
		t.Fatalf("status %d, want %d (%s): %s", r.Status, status, code, r.Body)
	}
}

// createEnterprise creates an internet café as root.
func createEnterprise(t *testing.T, h *apptest.Harness, root, code, name string) api.Enterprise {
	t.Helper()
	var e api.Enterprise
	h.MustDo(t, "POST", "/v1/enterprises", root, map[string]any{
		"credit_code": code, "name": name, "category": "internet_cafe", "district": "思明区",
		"address": "厦门市思明区湖滨南路1号", "legal_representative": "张三",
	}, http.StatusCreated, &e)
	return e
}

func TestEnterpriseAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, coordB, inspA1 := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "coord-b"), h.Token(t, "insp-a1")
		e := createEnterprise(t, h, root, creditCodeA, "星际网吧")

		t.Run("Create", func(t *testing.T) {
			if e.ID == 0 || e.CreditCode != creditCodeA || e.Status != "active" || e.RiskClass != "" || e.LegalRepresentative != "张三" {
				t.Fatalf("created %+v", e)
			}
		})
		t.Run("View", func(t *testing.T) {
			var got api.Enterprise
			h.MustDo(t, "GET", fmt.Sprintf("/v1/enterprises/%d", e.ID), coordB, nil, http.StatusOK, &got)
			if got.ID != e.ID || got.Name != "星际网吧" || got.District != "思明区" {
				t.Fatalf("view %+v", got)
			}
		})
		t.Run("List", func(t *testing.T) {
			createEnterprise(t, h, root, creditCodeB, "银河网咖")
			var l api.List[api.Enterprise]
			h.MustDo(t, "GET", "/v1/enterprises", adminA, nil, http.StatusOK, &l)
			if l.Total != 2 || len(l.Items) != 2 || l.Items[0].ID != e.ID {
				t.Fatalf("list %+v", l)
			}
			h.MustDo(t, "GET", "/v1/enterprises?q=%E7%BD%91%E5%90%A7", adminA, nil, http.StatusOK, &l) // q=网吧
			if l.Total != 1 || l.Items[0].CreditCode != creditCodeA {
				t.Fatalf("q: %+v", l)
			}
			h.MustDo(t, "GET", "/v1/enterprises?credit_code="+creditCodeB+"&status=active&category=internet_cafe", adminA, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].CreditCode != creditCodeB {
				t.Fatalf("credit_code: %+v", l)
			}
			h.MustDo(t, "GET", "/v1/enterprises?limit=1&offset=1", adminA, nil, http.StatusOK, &l)
			if l.Total != 2 || len(l.Items) != 1 || l.Items[0].CreditCode != creditCodeB {
				t.Fatalf("page: %+v", l)
			}
		})
		t.Run("Update", func(t *testing.T) {
			var got api.Enterprise
			h.MustDo(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), root,
				`{"name":"星际网咖","risk_class":"C","latitude":24.48,"longitude":118.09}`, http.StatusOK, &got)
			if got.Name != "星际网咖" || got.RiskClass != "C" || got.Latitude == nil || *got.Latitude != 24.48 ||
				got.CreditCode != creditCodeA || got.Address != "厦门市思明区湖滨南路1号" {
				t.Fatalf("updated %+v", got)
			}
		})
		t.Run("ErrBadCreditCode", func(t *testing.T) {
			for _, code := range []string{"91350203M0001QAY9B", "91350100m000100y43", "9135010"} {
				r := h.Do(t, "POST", "/v1/enterprises", root, map[string]any{
					"credit_code": code, "name": "错码网吧", "category": "internet_cafe", "district": "思明区",
				})
				wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
			}
		})
		t.Run("ErrDuplicateCreditCode", func(t *testing.T) {
			r := h.Do(t, "POST", "/v1/enterprises", root, map[string]any{
				"credit_code": creditCodeA, "name": "重复", "category": "internet_cafe", "district": "思明区",
			})
			wantHTTPError(t, r, http.StatusConflict, syncproto.CodeConflict)
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			r := h.Do(t, "POST", "/v1/enterprises", root,
				`{"credit_code":"`+creditCodeC+`","name":"x","category":"internet_cafe","district":"思明区","owner":"x"}`)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
			r = h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), root, `{"nmae":"x"}`)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			r := h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), root, `{"status":"closed"}`)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
			r = h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), root, `{"name":""}`)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
			r = h.Do(t, "GET", "/v1/enterprises?status=closed", root, nil)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrCreditCodeChange", func(t *testing.T) {
			r := h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), root, `{"credit_code":"`+creditCodeC+`"}`)
			wantHTTPError(t, r, http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "GET", fmt.Sprintf("/v1/enterprises/%d", e.ID+100), adminA, nil), http.StatusNotFound, syncproto.CodeNotFound)
			wantHTTPError(t, h.Do(t, "GET", "/v1/enterprises/abc", adminA, nil), http.StatusNotFound, syncproto.CodeNotFound)
			wantHTTPError(t, h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID+100), root, `{"name":"x"}`), http.StatusNotFound, syncproto.CodeNotFound)
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			// Only platform admins change the directory; inspectors may not read it.
			wantHTTPError(t, h.Do(t, "POST", "/v1/enterprises", adminA, map[string]any{
				"credit_code": creditCodeC, "name": "x", "category": "internet_cafe", "district": "思明区",
			}), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "PATCH", fmt.Sprintf("/v1/enterprises/%d", e.ID), coordB, `{"name":"x"}`), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "GET", "/v1/enterprises", inspA1, nil), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "GET", fmt.Sprintf("/v1/enterprises/%d", e.ID), inspA1, nil), http.StatusForbidden, syncproto.CodeForbidden)
		})
		t.Run("ErrUnauthorized", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "GET", "/v1/enterprises", "", nil), http.StatusUnauthorized, syncproto.CodeUnauthorized)
		})
	})
}
