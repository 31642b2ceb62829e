package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// A change through the API appends one event, in its own transaction; a
// refused one appends nothing. /v1/audit/verify walks the chain and checks
// an earlier head the caller kept.
func TestAuditRoutes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root := h.Token(t, "root")
		var before api.AuditHead
		h.MustDo(t, "GET", "/v1/audit/head", root, nil, http.StatusOK, &before)
		if before.Seq == 0 || len(before.Hash) != 64 {
			t.Fatalf("head after the fixtures: %+v", before)
		}

		h.MustDo(t, "POST", "/v1/departments", root, map[string]string{"code": "health", "name": "市卫生健康委员会"}, http.StatusCreated, nil)
		h.MustDo(t, "POST", "/v1/departments", root, map[string]string{"code": "Bad Code", "name": "x"}, http.StatusBadRequest, nil)
		var after api.AuditHead
		h.MustDo(t, "GET", "/v1/audit/head", root, nil, http.StatusOK, &after)
		if after.Seq != before.Seq+1 {
			t.Fatalf("head went from %d to %d, want one event for the one change", before.Seq, after.Seq)
		}

		var r api.AuditReport
		h.MustDo(t, "GET", "/v1/audit/verify", root, nil, http.StatusOK, &r)
		if !r.OK || r.Count != after.Seq || r.Head != after || r.Break != nil {
			t.Fatalf("verify: %+v", r)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/audit/verify?head=%d:%s", before.Seq, before.Hash), root, nil, http.StatusOK, &r)
		if !r.OK {
			t.Fatalf("verify against an earlier head: %+v", r.Break)
		}

		// A head the chain does not hold: the answer says so.
		h.MustDo(t, "GET", fmt.Sprintf("/v1/audit/verify?head=%d:%s", before.Seq, server.AuditGenesis), root, nil, http.StatusOK, &r)
		if r.OK || r.Break == nil || r.Break.Problem != server.AuditBrokenHead || r.Break.Index != before.Seq-1 {
			t.Fatalf("verify against a head the chain never had: %+v %+v", r, r.Break)
		}
		if res := h.MustDo(t, "GET", "/v1/audit/verify?head=12", root, nil, http.StatusBadRequest, nil); res.Error().Code != server.EINVALID {
			t.Fatalf("bad head: %s", res.Body)
		}
		h.MustDo(t, "GET", "/v1/audit/verify", h.Token(t, "admin-a"), nil, http.StatusForbidden, nil)
	})
}
