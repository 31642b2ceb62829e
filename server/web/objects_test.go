package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// TestPageObjectsOfAnotherDepartment: every campaign page, tried on a
// campaign department B takes no part in by B's staff, answers as the API
// does for the same campaign: 404, the page that does not say whether it
// exists, never a 403 that would, and nothing of the campaign on it. The
// role walk (routes_test.go) tries roles on department A's own objects;
// this tries the objects.
func TestPageObjectsOfAnotherDepartment(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 2, Departments: []*server.Department{h.DeptA}, Name: "甲部门独办抽查"})
		id := is.Campaign.ID
		code := is.Packets[0].Content.Enterprise.CreditCode
		// A proof of the campaign's letters, by its lead coordinator.
		req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/campaigns/%d/letters/proofs", h.URL, id), bytes.NewReader(scanPNG(t)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "image/png")
		req.Header.Set("Authorization", "Bearer "+h.Token(t, "coord-a"))
		r := h.Send(t, req)
		if r.Status != http.StatusCreated {
			t.Fatalf("upload a proof: %d %s", r.Status, r.Body)
		}
		var proof api.LetterProof
		if err := json.Unmarshal(r.Body, &proof); err != nil {
			t.Fatal(err)
		}

		pol := policies()
		var keys []string
		for key := range pageRoutes(h) {
			if _, pattern, _ := strings.Cut(key, " "); strings.HasPrefix(pattern, "/console/campaigns/:id") {
				keys = append(keys, key)
			}
		}
		slices.Sort(keys)
		if len(keys) < 20 {
			t.Fatalf("only %d campaign pages: %v", len(keys), keys)
		}
		for _, actor := range []string{"admin-b", "coord-b"} {
			// The API's answer for the same campaign, to match.
			if r := h.Do(t, "GET", fmt.Sprintf("/v1/campaigns/%d", id), h.Token(t, actor), nil); r.Status != http.StatusNotFound {
				t.Fatalf("GET /v1/campaigns/%d as %s: %d, want 404", id, actor, r.Status)
			}
			c := newClient(t, h)
			c.login(t, actor)
			role := h.Users[actor].Role
			for _, key := range keys {
				method, pattern, _ := strings.Cut(key, " ")
				path := strings.NewReplacer(":id", fmt.Sprint(id), ":credit_code", code).Replace(pattern)
				if strings.HasSuffix(pattern, "/letters/proof") {
					path += "?sha256=" + proof.SHA256
				}
				if strings.HasSuffix(pattern, "/letters.pdf") {
					path += "?target=" + code
				}
				var p *page
				if method == http.MethodPost {
					form := url.Values{}
					for k, v := range pol[key].form {
						form[k] = slices.Clone(v)
					}
					p = c.post(t, "/console/password", path, form)
				} else {
					p = c.get(t, path)
				}
				where := fmt.Sprintf("%s %s as %s", method, path, actor)
				if !slices.Contains(pol[key].roles, role) {
					if p.Status != http.StatusForbidden {
						t.Errorf("%s: %d, want the role's 403 page", where, p.Status)
					}
					continue
				}
				if p.Status != http.StatusNotFound {
					t.Errorf("%s: %d, want 404 as the API answers", where, p.Status)
				}
				if strings.Contains(p.Body, is.Campaign.Name) || strings.Contains(p.Body, code) {
					t.Errorf("%s: the page shows the campaign's data", where)
				}
			}
		}
	})
}
