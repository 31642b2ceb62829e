package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
)

// TestVerifyDraw_PublishedCampaign runs a campaign through the HTTP API on
// each dialect (commit, draw, both confirmations with one replacement, teams)
// and then points `spotcheck verify draw` at the server's public record URL:
// it must agree, and name the first disagreement once one selection in a copy
// of the record is altered.
func TestVerifyDraw_PublishedCampaign(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := app.SystemContext(context.Background())
		for i := range 40 {
			body := fmt.Sprintf("%08d", 70000000+i)
			first17 := "91350206" + body + string(server.OrgCodeCheckChar(body))
			e := &server.Enterprise{
				CreditCode: first17 + string(server.CreditCodeCheckChar(first17)), Name: fmt.Sprintf("极速网咖%02d", i),
				Category: server.CategoryInternetCafe, District: "湖里区", Status: server.EnterpriseActive,
				RiskClass: server.RiskClass([]string{"A", "B", "C"}[i%3]),
			}
			if err := h.App.Enterprises.CreateEnterprise(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		coord, adminA, adminB := h.Token(t, "coord-a"), h.Token(t, "admin-a"), h.Token(t, "admin-b")
		var camp api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coord, api.CreateCampaignRequest{
			Name: "湖里区网吧联合抽查", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID, h.DeptB.ID},
			WindowStart: server.Date{Year: 2026, Month: 11, Day: 9}, WindowEnd: server.Date{Year: 2026, Month: 11, Day: 13},
			Category:                server.CategoryInternetCafe,
			Ratio:                   server.RatioTable{Default: "0.1", ByClass: map[string]string{"A": "0.05", "B": "0.15", "C": "0.3"}},
			InspectorsPerDepartment: 1, TargetsPerTeam: 4,
			RandomnessSources:  []string{"中国福利彩票双色球第2026130期开奖号码"},
			SourcesAvailableAt: h.SourcesAvailableAt(),
		}, http.StatusCreated, &camp)
		base := fmt.Sprintf("/v1/campaigns/%d", camp.ID)
		h.MustDo(t, "POST", base+"/commit", coord, nil, http.StatusOK, nil)
		h.Advance(time.Second) // the sources are public
		h.MustDo(t, "POST", base+"/draw", coord, api.DrawRequest{Randomness: []string{"02 11 17 24 28 31 + 05"}}, http.StatusOK, nil)
		var sels api.List[api.Selection]
		h.MustDo(t, "GET", base+"/selections", coord, nil, http.StatusOK, &sels)
		h.MustDo(t, "POST", base+"/replacements", adminB, api.ReplaceTargetRequest{CreditCode: sels.Items[0].CreditCode, Reason: "已注销 (deregistered)"}, http.StatusCreated, nil)
		h.MustDo(t, "POST", base+"/confirm", adminA, nil, http.StatusOK, nil)
		h.MustDo(t, "POST", base+"/confirm", adminB, nil, http.StatusOK, nil)
		// A conflict declared after commit: public as a commitment only.
		h.MustDo(t, "POST", "/v1/declarations", adminA, api.CreateDeclarationRequest{
			InspectorID: *h.Users["insp-a1"].InspectorID, CreditCode: sels.Items[1].CreditCode, Reason: "其配偶为该网吧股东",
		}, http.StatusCreated, nil)
		h.MustDo(t, "POST", base+"/teams", coord, nil, http.StatusCreated, nil)

		url := fmt.Sprintf("%s/public/campaigns/%d/record", h.URL, camp.ID)
		code, out, errOut := runVerify(t, "", "draw", url)
		if code != 0 || !strings.Contains(out, "agrees") || !strings.Contains(out, "1 salted commitments, not opened") ||
			!strings.Contains(out, "sources known:") {
			t.Fatalf("verify draw %s: exit %d\n%s%s", url, code, out, errOut)
		}

		// The auditor's check: the openings from the lead coordinator's route.
		openings := h.MustDo(t, "GET", base+"/recusal-openings", coord, nil, http.StatusOK, nil).Body
		file := filepath.Join(t.TempDir(), "openings.json")
		if err := os.WriteFile(file, openings, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = runVerify(t, "", "draw", url, "--recusals", file)
		if code != 0 || !strings.Contains(out, "1 openings match the commitments") {
			t.Fatalf("verify draw --recusals: exit %d\n%s%s", code, out, errOut)
		}
		var op api.RecusalOpenings
		if err := json.Unmarshal(openings, &op); err != nil || len(op.Openings) != 1 {
			t.Fatalf("openings %s: %v", openings, err)
		}
		op.Openings[0].Salt = strings.Repeat("00", 32)
		forged, _ := json.Marshal(op)
		if err := os.WriteFile(file, forged, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut = runVerify(t, "", "draw", url, "--recusals", file)
		if code != 1 || !strings.Contains(out, "recusal_openings[0]") {
			t.Fatalf("forged opening: exit %d, want 1 naming recusal_openings[0]\n%s%s", code, out, errOut)
		}

		// A copy of the record with one selection altered, served elsewhere.
		var rec draw.Record
		body := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", camp.ID), "", nil, http.StatusOK, nil).Body
		if err := json.Unmarshal(body, &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Replacements) != 1 || len(rec.Teams) == 0 || len(rec.Selection) < 2 {
			t.Fatalf("record has %d replacements, %d teams, %d selections", len(rec.Replacements), len(rec.Teams), len(rec.Selection))
		}
		rec.Selection[1].CreditCode = rec.Selection[0].CreditCode
		altered, _ := json.Marshal(rec)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(altered)
		}))
		defer srv.Close()
		code, out, errOut = runVerify(t, "", "draw", srv.URL+"/record")
		if code != 1 || !strings.Contains(out+errOut, "selection[1]") {
			t.Fatalf("altered record: exit %d, want 1 naming selection[1]\n%s%s", code, out, errOut)
		}
	})
}
