package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

func TestDeclarationAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, adminA, adminB := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, coordB := h.Token(t, "coord-a"), h.Token(t, "coord-b")
		inspA1, inspA2 := h.Token(t, "insp-a1"), h.Token(t, "insp-a2")
		a1, a2, b1 := h.Inspectors["insp-a1"], h.Inspectors["insp-a2"], h.Inspectors["insp-b1"]
		e1 := createEnterprise(t, h, root, creditCodeA, "星际网吧")
		e2 := createEnterprise(t, h, root, creditCodeB, "银河网咖")
		path := func(id int64) string { return fmt.Sprintf("/v1/declarations/%d", id) }
		list := func(t *testing.T, token, query string) api.List[api.Declaration] {
			t.Helper()
			var l api.List[api.Declaration]
			h.MustDo(t, "GET", "/v1/declarations"+query, token, nil, http.StatusOK, &l)
			if l.Total != len(l.Items) {
				t.Fatalf("total %d for %d items", l.Total, len(l.Items))
			}
			return l
		}

		var dA1, dA2, dB1 api.Declaration
		t.Run("Create", func(t *testing.T) {
			// By credit code, by a department admin.
			h.MustDo(t, "POST", "/v1/declarations", adminA, map[string]any{
				"inspector_id": a1.ID, "credit_code": creditCodeA, "reason": "配偶为该网吧股东",
			}, http.StatusCreated, &dA1)
			if dA1.ID == 0 || dA1.EnterpriseID != e1.ID || dA1.CreditCode != creditCodeA || dA1.InspectorID != a1.ID ||
				dA1.DeclaredBy != h.Users["admin-a"].ID || dA1.WithdrawnAt != nil || dA1.Reason != "配偶为该网吧股东" {
				t.Fatalf("created %+v", dA1)
			}
			// By enterprise id, by the inspector themself.
			h.MustDo(t, "POST", "/v1/declarations", inspA2, map[string]any{
				"inspector_id": a2.ID, "enterprise_id": e1.ID, "reason": "曾在该网吧任职",
			}, http.StatusCreated, &dA2)
			if dA2.CreditCode != creditCodeA || dA2.DeclaredBy != h.Users["insp-a2"].ID {
				t.Fatalf("created %+v", dA2)
			}
			// An admin's declaration counts at once; an inspector's waits for review.
			if dA1.Status != "approved" || dA1.ReviewedBy == nil || *dA1.ReviewedBy != h.Users["admin-a"].ID || dA2.Status != "pending" || dA2.ReviewedBy != nil {
				t.Fatalf("statuses: %+v, %+v", dA1, dA2)
			}
			// Both, naming the same enterprise.
			h.MustDo(t, "POST", "/v1/declarations", adminB, map[string]any{
				"inspector_id": b1.ID, "enterprise_id": e2.ID, "credit_code": creditCodeB, "reason": "亲属经营",
			}, http.StatusCreated, &dB1)
			if dB1.EnterpriseID != e2.ID || dB1.CreditCode != creditCodeB {
				t.Fatalf("created %+v", dB1)
			}
		})
		t.Run("View", func(t *testing.T) {
			for _, tc := range []struct {
				token string
				d     api.Declaration
			}{{adminA, dA1}, {coordA, dA2}, {inspA1, dA1}, {root, dB1}, {coordB, dB1}} {
				var got api.Declaration
				h.MustDo(t, "GET", path(tc.d.ID), tc.token, nil, http.StatusOK, &got)
				if got.ID != tc.d.ID || got.CreditCode != tc.d.CreditCode || got.EnterpriseID != tc.d.EnterpriseID {
					t.Fatalf("view %+v, want %+v", got, tc.d)
				}
			}
		})
		t.Run("List", func(t *testing.T) {
			if l := list(t, root, ""); l.Total != 3 {
				t.Fatalf("root: %+v", l)
			}
			if l := list(t, adminA, ""); l.Total != 2 || l.Items[0].ID != dA1.ID || l.Items[1].ID != dA2.ID || l.Items[0].CreditCode != creditCodeA {
				t.Fatalf("admin-a: %+v", l)
			}
			if l := list(t, coordB, ""); l.Total != 1 || l.Items[0].ID != dB1.ID {
				t.Fatalf("coord-b: %+v", l)
			}
			if l := list(t, inspA1, ""); l.Total != 1 || l.Items[0].ID != dA1.ID {
				t.Fatalf("insp-a1: %+v", l)
			}
			if l := list(t, root, fmt.Sprintf("?enterprise_id=%d", e1.ID)); l.Total != 2 {
				t.Fatalf("enterprise_id: %+v", l)
			}
			if l := list(t, root, fmt.Sprintf("?inspector_id=%d", b1.ID)); l.Total != 1 || l.Items[0].ID != dB1.ID {
				t.Fatalf("inspector_id: %+v", l)
			}
			// Filters never widen the caller's scope.
			if l := list(t, adminA, fmt.Sprintf("?inspector_id=%d", b1.ID)); l.Total != 0 {
				t.Fatalf("admin-a sees B: %+v", l)
			}
			if l := list(t, inspA1, fmt.Sprintf("?inspector_id=%d", a2.ID)); l.Total != 0 {
				t.Fatalf("insp-a1 sees a colleague's: %+v", l)
			}
		})
		t.Run("Withdraw", func(t *testing.T) {
			// The inspector may not withdraw what their admin entered about them.
			wantHTTPError(t, h.Do(t, "POST", path(dA1.ID)+"/withdraw", inspA1, withdrawal("不再是股东")), http.StatusForbidden, syncproto.CodeForbidden)
			// A withdrawal needs a reason.
			wantHTTPError(t, h.Do(t, "POST", path(dA1.ID)+"/withdraw", adminA, withdrawal(" ")), http.StatusBadRequest, syncproto.CodeInvalid)
			wantHTTPError(t, h.Do(t, "POST", path(dA1.ID)+"/withdraw", adminA, nil), http.StatusUnsupportedMediaType, syncproto.CodeUnsupportedType)
			var got api.Declaration
			h.MustDo(t, "GET", path(dA1.ID), root, nil, http.StatusOK, &got)
			if got.WithdrawnAt != nil {
				t.Fatalf("withdrawn by a refused call: %+v", got)
			}
			h.MustDo(t, "POST", path(dA1.ID)+"/withdraw", adminA, withdrawal("配偶已退股"), http.StatusOK, &got)
			if got.WithdrawnAt == nil || !got.WithdrawnAt.Equal(h.Now()) || got.CreditCode != creditCodeA ||
				got.WithdrawnBy == nil || *got.WithdrawnBy != h.Users["admin-a"].ID || got.WithdrawReason != "配偶已退股" {
				t.Fatalf("withdrawn %+v", got)
			}
			// Withdrawing again is harmless and keeps the first time and reason.
			h.Advance(time.Minute)
			var again api.Declaration
			h.MustDo(t, "POST", path(dA1.ID)+"/withdraw", root, withdrawal("再次撤回"), http.StatusOK, &again)
			if !again.WithdrawnAt.Equal(*got.WithdrawnAt) || *again.WithdrawnBy != *got.WithdrawnBy || again.WithdrawReason != got.WithdrawReason {
				t.Fatalf("withdrawn again %+v", again)
			}
			if l := list(t, inspA1, ""); l.Total != 0 {
				t.Fatalf("withdrawn listed by default: %+v", l)
			}
			if l := list(t, inspA1, "?include_withdrawn=true"); l.Total != 1 || l.Items[0].WithdrawnAt == nil {
				t.Fatalf("include_withdrawn: %+v", l)
			}
			// The history stays and a new standing declaration may follow.
			var renewed api.Declaration
			h.MustDo(t, "POST", "/v1/declarations", adminA, map[string]any{
				"inspector_id": a1.ID, "credit_code": creditCodeA, "reason": "配偶重新入股",
			}, http.StatusCreated, &renewed)
			if renewed.ID == dA1.ID {
				t.Fatalf("renewed %+v", renewed)
			}
		})
		t.Run("ErrStanding", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", root, map[string]any{
				"inspector_id": a2.ID, "credit_code": creditCodeA, "reason": "重复",
			}), http.StatusConflict, syncproto.CodeConflict)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, body := range []any{
				map[string]any{"inspector_id": a1.ID, "credit_code": "91350203M0001QAY9B", "reason": "x"},
				map[string]any{"inspector_id": a1.ID, "credit_code": creditCodeB, "enterprise_id": e1.ID, "reason": "x"},
				map[string]any{"inspector_id": a1.ID, "credit_code": creditCodeB, "reason": ""},
				map[string]any{"inspector_id": a1.ID, "credit_code": creditCodeB, "reason": strings.Repeat("x", 501)},
				map[string]any{"inspector_id": a1.ID, "reason": "x"},
				map[string]any{"credit_code": creditCodeB, "reason": "x"},
				`{"inspector_id":1,"credit_code":"` + creditCodeB + `","reason":"x","declared_by":1}`,
				`{"inspector_id":"1","credit_code":"` + creditCodeB + `","reason":"x"}`,
			} {
				wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", adminA, body), http.StatusBadRequest, syncproto.CodeInvalid)
			}
			wantHTTPError(t, h.Do(t, "GET", "/v1/declarations?include_withdrawn=maybe", adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
			wantHTTPError(t, h.Do(t, "GET", "/v1/declarations?inspector_id=abc", adminA, nil), http.StatusBadRequest, syncproto.CodeInvalid)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			// Declaring for someone the caller may not see.
			for _, tc := range []struct {
				token string
				insp  int64
			}{{adminA, b1.ID}, {adminB, a2.ID}, {inspA1, a2.ID}} {
				wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", tc.token, map[string]any{
					"inspector_id": tc.insp, "credit_code": creditCodeB, "reason": "x",
				}), http.StatusNotFound, syncproto.CodeNotFound)
			}
			// An unknown enterprise.
			wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", adminA, map[string]any{
				"inspector_id": a2.ID, "credit_code": creditCodeC, "reason": "x",
			}), http.StatusNotFound, syncproto.CodeNotFound)
			// Every route with an id answers 404 for another department's declaration.
			for _, tc := range []struct {
				token string
				id    int64
			}{{adminA, dB1.ID}, {adminB, dA2.ID}, {coordA, dB1.ID}, {inspA1, dA2.ID}, {inspA2, dB1.ID}, {root, dB1.ID + 100}} {
				wantHTTPError(t, h.Do(t, "GET", path(tc.id), tc.token, nil), http.StatusNotFound, syncproto.CodeNotFound)
			}
			for _, tc := range []struct {
				token string
				id    int64
			}{{adminA, dB1.ID}, {adminB, dA2.ID}, {inspA1, dA2.ID}, {inspA2, dB1.ID}} {
				wantHTTPError(t, h.Do(t, "POST", path(tc.id)+"/withdraw", tc.token, withdrawal("x")), http.StatusNotFound, syncproto.CodeNotFound)
			}
			var got api.Declaration
			h.MustDo(t, "GET", path(dB1.ID), root, nil, http.StatusOK, &got)
			if got.WithdrawnAt != nil {
				t.Fatalf("withdrawn by another department: %+v", got)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			// Lead coordinators read declarations; they neither declare nor withdraw.
			wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", coordA, map[string]any{
				"inspector_id": a2.ID, "enterprise_id": e2.ID, "reason": "x",
			}), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "POST", path(dA2.ID)+"/withdraw", coordA, withdrawal("x")), http.StatusForbidden, syncproto.CodeForbidden)
		})
	})
}

func withdrawal(reason string) api.DeclarationReasonRequest {
	return api.DeclarationReasonRequest{Reason: reason}
}

// TestDeclarationReview: an inspector's own declaration waits for an admin
// of their department, who approves or rejects it (with a reason); only an
// approved one counts in a draw; an inspector has at most 20 waiting.
func TestDeclarationReview(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		cafes := campaignFixture(t, h, 10)
		root, adminA, adminB := h.Token(t, "root"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, inspA1, inspA2 := h.Token(t, "coord-a"), h.Token(t, "insp-a1"), h.Token(t, "insp-a2")
		a1, a2, b1 := h.Inspectors["insp-a1"], h.Inspectors["insp-a2"], h.Inspectors["insp-b1"]
		var codes []string
		for _, cs := range cafes {
			codes = append(codes, cs...)
		}
		slices.Sort(codes)
		path := func(id int64) string { return fmt.Sprintf("/v1/declarations/%d", id) }
		declare := func(t *testing.T, token string, in int64, code string) api.Declaration {
			t.Helper()
			var d api.Declaration
			h.MustDo(t, "POST", "/v1/declarations", token, map[string]any{"inspector_id": in, "credit_code": code, "reason": "亲属经营"}, http.StatusCreated, &d)
			return d
		}
		pendingA1 := declare(t, inspA1, a1.ID, codes[0])  // stays pending
		approvedA2 := declare(t, inspA2, a2.ID, codes[1]) // approved below
		rejectedA2 := declare(t, inspA2, a2.ID, codes[2]) // rejected below
		enteredA1 := declare(t, adminA, a1.ID, codes[3])  // approved at once
		withdrawnB1 := declare(t, h.Token(t, "insp-b1"), b1.ID, codes[4])

		t.Run("Approve", func(t *testing.T) {
			// Inspectors and lead coordinators do not review; another department's admin sees nothing.
			wantHTTPError(t, h.Do(t, "POST", path(approvedA2.ID)+"/approve", inspA2, withdrawal("")), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "POST", path(approvedA2.ID)+"/approve", coordA, withdrawal("")), http.StatusForbidden, syncproto.CodeForbidden)
			wantHTTPError(t, h.Do(t, "POST", path(approvedA2.ID)+"/approve", adminB, withdrawal("")), http.StatusNotFound, syncproto.CodeNotFound)
			var got api.Declaration
			h.MustDo(t, "POST", path(approvedA2.ID)+"/approve", adminA, withdrawal("情况属实"), http.StatusOK, &got)
			if got.Status != "approved" || got.ReviewedBy == nil || *got.ReviewedBy != h.Users["admin-a"].ID ||
				got.ReviewedAt == nil || got.ReviewNote != "情况属实" {
				t.Fatalf("approved %+v", got)
			}
			// Reviewed once only.
			wantHTTPError(t, h.Do(t, "POST", path(approvedA2.ID)+"/reject", root, withdrawal("改判")), http.StatusConflict, syncproto.CodeConflict)
			wantHTTPError(t, h.Do(t, "POST", path(enteredA1.ID)+"/approve", adminA, withdrawal("")), http.StatusConflict, syncproto.CodeConflict)
		})
		t.Run("Reject", func(t *testing.T) {
			wantHTTPError(t, h.Do(t, "POST", path(rejectedA2.ID)+"/reject", adminA, withdrawal("")), http.StatusBadRequest, syncproto.CodeInvalid)
			var got api.Declaration
			h.MustDo(t, "POST", path(rejectedA2.ID)+"/reject", adminA, withdrawal("无亲属关系证明"), http.StatusOK, &got)
			if got.Status != "rejected" || got.ReviewNote != "无亲属关系证明" {
				t.Fatalf("rejected %+v", got)
			}
			// Final: no approval after it, no withdrawal, and it no longer stands.
			wantHTTPError(t, h.Do(t, "POST", path(rejectedA2.ID)+"/approve", adminA, withdrawal("")), http.StatusConflict, syncproto.CodeConflict)
			wantHTTPError(t, h.Do(t, "POST", path(rejectedA2.ID)+"/withdraw", inspA2, withdrawal("x")), http.StatusConflict, syncproto.CodeConflict)
			var l api.List[api.Declaration]
			h.MustDo(t, "GET", "/v1/declarations", inspA2, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].ID != approvedA2.ID {
				t.Fatalf("standing for insp-a2: %+v", l)
			}
			h.MustDo(t, "GET", "/v1/declarations?status=rejected&include_withdrawn=true", inspA2, nil, http.StatusOK, &l)
			if l.Total != 1 || l.Items[0].ID != rejectedA2.ID {
				t.Fatalf("rejected for insp-a2: %+v", l)
			}
		})
		t.Run("InspectorWithdrawsOwn", func(t *testing.T) {
			var got api.Declaration
			h.MustDo(t, "POST", path(withdrawnB1.ID)+"/withdraw", h.Token(t, "insp-b1"), withdrawal("申报有误"), http.StatusOK, &got)
			if got.WithdrawnAt == nil || got.WithdrawnBy == nil || *got.WithdrawnBy != h.Users["insp-b1"].ID || got.WithdrawReason != "申报有误" {
				t.Fatalf("withdrawn %+v", got)
			}
			wantHTTPError(t, h.Do(t, "POST", path(withdrawnB1.ID)+"/approve", adminB, withdrawal("")), http.StatusConflict, syncproto.CodeConflict)
		})
		var extra api.Enterprise
		t.Run("PendingBound", func(t *testing.T) {
			// insp-a1 has one pending; 19 more fill the bound, on made-up cafés.
			for i := range server.MaxPendingDeclarations - 1 {
				e := createEnterprise(t, h, root, creditCode(int64(20000+i)), fmt.Sprintf("待审网吧%d", i))
				declare(t, inspA1, a1.ID, e.CreditCode)
			}
			extra = createEnterprise(t, h, root, creditCode(30000), "多余网吧")
			body := map[string]any{"inspector_id": a1.ID, "credit_code": extra.CreditCode, "reason": "亲属经营"}
			wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", inspA1, body), http.StatusConflict, syncproto.CodeConflict)
			// Their admin may still enter one, and a review frees a place.
			declare(t, adminA, a1.ID, extra.CreditCode)
			body["credit_code"] = creditCode(30001)
			createEnterprise(t, h, root, creditCode(30001), "另一网吧")
			h.MustDo(t, "POST", path(pendingA1.ID)+"/reject", adminA, withdrawal("证据不足"), http.StatusOK, nil)
			// A rejected pair may be declared again, pending once more.
			pendingA1 = declare(t, inspA1, a1.ID, codes[0])
			wantHTTPError(t, h.Do(t, "POST", "/v1/declarations", inspA1, body), http.StatusConflict, syncproto.CodeConflict)
		})
		t.Run("CommitCountsApprovedOnly", func(t *testing.T) {
			body := draftBody(h, "回避审批验证")
			body["districts"] = []string{"思明区"}
			var c api.Campaign
			h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &c)
			h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", c.ID), coordA, nil, http.StatusOK, &c)
			// The manifest commits to the pairs; the auditor's openings name them.
			var openings api.RecusalOpenings
			h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/recusal-openings", c.ID), coordA, nil, http.StatusOK, &openings)
			got := map[string]bool{}
			for _, r := range openings.Openings {
				got[r.Certificate+" "+r.CreditCode] = true
			}
			want := map[string]bool{
				a2.CertificateNumber + " " + codes[1]:         true, // approved by the admin
				a1.CertificateNumber + " " + codes[3]:         true, // entered by the admin
				a1.CertificateNumber + " " + extra.CreditCode: true,
			}
			if len(got) != len(want) {
				t.Fatalf("recusals %v, want %v (pending %s, rejected %s and withdrawn %s must not count)", got, want, codes[0], codes[2], codes[4])
			}
			for k := range want {
				if !got[k] {
					t.Fatalf("recusals %v, want %v", got, want)
				}
			}
		})
	})
}
