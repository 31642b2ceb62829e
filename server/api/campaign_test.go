package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
)

// campaignFixture adds enterprises: n active internet cafés in 思明区 with
// risk classes cycling A, B, C, D, "", plus some that no filter below should
// pick (another category, another district, suspended). It returns the
// cafés' credit codes by risk class.
func campaignFixture(t *testing.T, h *apptest.Harness, n int) map[string][]string {
	t.Helper()
	ctx := app.SystemContext(context.Background())
	classes := []server.RiskClass{"A", "B", "C", "D", ""}
	byClass := map[string][]string{}
	add := func(i int, category, district string, status server.EnterpriseStatus, class server.RiskClass) string {
		e := &server.Enterprise{
			CreditCode: creditCode(int64(10000 + i)), Name: fmt.Sprintf("网吧%d", i), Category: category,
			District: district, Status: status, RiskClass: class, LegalRepresentative: "张三",
		}
		if err := h.App.Enterprises.CreateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		return e.CreditCode
	}
	for i := 0; i < n; i++ {
		c := classes[i%len(classes)]
		byClass[string(c)] = append(byClass[string(c)], add(i, server.CategoryInternetCafe, "思明区", server.EnterpriseActive, c))
	}
	add(n, "hotel", "思明区", server.EnterpriseActive, "")
	add(n+1, server.CategoryInternetCafe, "湖里区", server.EnterpriseActive, "")
	add(n+2, server.CategoryInternetCafe, "思明区", server.EnterpriseSuspended, "")
	return byClass
}

// draftBody is a valid campaign draft led by department A with B taking part.
func draftBody(h *apptest.Harness, name string) map[string]any {
	return map[string]any{
		"name": name, "department_ids": []int64{h.DeptB.ID},
		"window_start": "2026-12-01", "window_end": "2026-12-06",
		"category": server.CategoryInternetCafe, "districts": []string{"思明区"},
		"ratio":                map[string]any{"default": "0.15"},
		"randomness_sources":   []string{"中国福利彩票双色球第2026140期开奖号码（2026-12-01 21:15开奖）", "深证成指2026-12-01收盘点数"},
		"sources_available_at": h.SourcesAvailableAt(),
	}
}

func getRecord(t *testing.T, h *apptest.Harness, id int64) (*draw.Record, []byte) {
	t.Helper()
	r := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", id), "", nil, http.StatusOK, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("record content type %q", ct)
	}
	var rec draw.Record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatal(err)
	}
	return &rec, r.Body
}

func TestCampaign_DraftCommitDraw(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		cafes := campaignFixture(t, h, 40)
		adminA, adminB := h.Token(t, "admin-a"), h.Token(t, "admin-b")
		coordA, coordB := h.Token(t, "coord-a"), h.Token(t, "coord-b")
		inspA := h.Token(t, "insp-a1")

		// Check items: a second create of a code is its next version.
		var v1, v2 api.CheckItem
		h.MustDo(t, "POST", "/v1/check-items", adminA, map[string]any{"code": "WH-01", "title": "营业执照悬挂", "legal_basis": "《互联网上网服务营业场所管理条例》第二十三条"}, http.StatusCreated, &v1)
		h.MustDo(t, "POST", "/v1/check-items", adminA, map[string]any{"code": "WH-01", "title": "营业执照、许可证悬挂"}, http.StatusCreated, &v2)
		if v1.Version != 1 || v2.Version != 2 || v1.DepartmentID != h.DeptA.ID {
			t.Fatalf("versions %d, %d in department %d", v1.Version, v2.Version, v1.DepartmentID)
		}
		var items api.List[api.CheckItem]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/check-items?department_id=%d", h.DeptA.ID), inspA, nil, http.StatusOK, &items)
		if items.Total != 1 || items.Items[0].ID != v2.ID {
			t.Fatalf("current items: %+v", items)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/check-items?department_id=%d&include_retired=true", h.DeptA.ID), inspA, nil, http.StatusOK, &items)
		if items.Total != 2 || items.Items[0].RetiredAt == nil {
			t.Fatalf("all items: %+v", items)
		}
		h.MustDo(t, "POST", "/v1/check-items", adminB, map[string]any{"department_id": h.DeptA.ID, "code": "X", "title": "X"}, http.StatusForbidden, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/check-items/%d/retire", v2.ID), adminB, nil, http.StatusNotFound, nil)
		var mkt api.CheckItem
		h.MustDo(t, "POST", "/v1/check-items", adminB, map[string]any{"code": "SC-01", "title": "价格公示", "answer_type": "text"}, http.StatusCreated, &mkt)

		// Drafts.
		body := draftBody(h, "2026年网吧双随机联合抽查")
		body["check_item_ids"] = []int64{v1.ID}
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusBadRequest, nil) // retired version
		body["check_item_ids"] = []int64{v2.ID, mkt.ID}
		h.MustDo(t, "POST", "/v1/campaigns", adminA, body, http.StatusForbidden, nil)
		bad := draftBody(h, "x")
		bad["lead_department_id"] = h.DeptB.ID
		h.MustDo(t, "POST", "/v1/campaigns", coordA, bad, http.StatusForbidden, nil)
		bad = draftBody(h, "x")
		bad["ratio"] = map[string]any{"default": "0.15e0"}
		h.MustDo(t, "POST", "/v1/campaigns", coordA, bad, http.StatusBadRequest, nil)
		bad = draftBody(h, "x")
		bad["window_end"] = "2026-11-30"
		h.MustDo(t, "POST", "/v1/campaigns", coordA, bad, http.StatusBadRequest, nil)
		bad = draftBody(h, "x")
		bad["randomness_sources"] = []string{}
		h.MustDo(t, "POST", "/v1/campaigns", coordA, bad, http.StatusBadRequest, nil)

		var c api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &c)
		if c.Status != "draft" || c.LeadDepartmentID != h.DeptA.ID || len(c.DepartmentIDs) != 2 || c.InspectorsPerDepartment != 2 {
			t.Fatalf("created %+v", c)
		}
		path := fmt.Sprintf("/v1/campaigns/%d", c.ID)
		h.MustDo(t, "PATCH", path, coordA, map[string]any{"name": "2026年度网吧联合抽查"}, http.StatusOK, &c)
		h.MustDo(t, "PATCH", path, coordB, map[string]any{"name": "x"}, http.StatusForbidden, nil) // takes part, does not lead
		h.MustDo(t, "GET", path, adminB, nil, http.StatusOK, nil)
		h.MustDo(t, "GET", path, inspA, nil, http.StatusForbidden, nil)
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", c.ID), "", nil, http.StatusNotFound, nil)
		h.MustDo(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: []string{"1", "2"}}, http.StatusConflict, nil)

		// A campaign only department B takes part in is invisible to A's staff.
		var onlyB api.Campaign
		bBody := draftBody(h, "市场监管专项")
		bBody["department_ids"] = []int64{}
		h.MustDo(t, "POST", "/v1/campaigns", coordB, bBody, http.StatusCreated, &onlyB)
		for _, tok := range []string{coordA, adminA} {
			h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d", onlyB.ID), tok, nil, http.StatusNotFound, nil)
			h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", onlyB.ID), coordA, nil, http.StatusNotFound, nil)
		}
		var list api.List[api.Campaign]
		h.MustDo(t, "GET", "/v1/campaigns", coordA, nil, http.StatusOK, &list)
		if list.Total != 1 || list.Items[0].ID != c.ID {
			t.Fatalf("coord-a sees %+v", list)
		}

		// Commit freezes the manifest.
		h.MustDo(t, "POST", path+"/commit", coordB, nil, http.StatusForbidden, nil)
		h.MustDo(t, "POST", path+"/commit", coordA, nil, http.StatusOK, &c)
		if c.Status != "committed" || c.PopulationSize != 40 || len(c.ManifestDigest) != 64 {
			t.Fatalf("committed %+v", c)
		}
		r := h.Do(t, "PATCH", path, coordA, map[string]any{"name": "改名"})
		if r.Status != http.StatusConflict || !strings.Contains(r.Error().Message, "已提交的抽查方案不可修改") {
			t.Fatalf("PATCH after commit: %d %s", r.Status, r.Body)
		}
		var after api.Campaign
		h.MustDo(t, "GET", path, coordA, nil, http.StatusOK, &after)
		if after.Name != "2026年度网吧联合抽查" || after.ManifestDigest != c.ManifestDigest || !after.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("campaign changed after a refused PATCH: %+v", after)
		}
		h.MustDo(t, "POST", path+"/commit", coordA, nil, http.StatusConflict, nil)

		// The published manifest hashes to the digest.
		mr := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", c.ID), "", nil, http.StatusOK, nil)
		if ct := mr.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Fatalf("manifest content type %q", ct)
		}
		if sum := sha256.Sum256(mr.Body); hex.EncodeToString(sum[:]) != c.ManifestDigest {
			t.Fatalf("manifest SHA-256 %x, digest %s", sum, c.ManifestDigest)
		}
		m, err := draw.ParseManifest(mr.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Population) != 40 || len(m.Inspectors) != 4 || m.Lead != "culture" {
			t.Fatalf("manifest: %d population, %d inspectors, lead %q", len(m.Population), len(m.Inspectors), m.Lead)
		}
		if !bytes.HasPrefix(mr.Body, []byte("spotcheck-manifest/v3\n")) || !bytes.Contains(mr.Body, []byte("\nsources_available_at\t2026-11-02T09:30:01Z\n")) {
			t.Fatalf("manifest head:\n%.400s", mr.Body)
		}
		if !bytes.Contains(mr.Body, []byte("department\tculture\tWH-01@2\n")) || !bytes.Contains(mr.Body, []byte("department\tmarket\tSC-01@1\n")) {
			t.Fatalf("manifest check items:\n%s", mr.Body)
		}

		// The sources cannot be known yet: the draw waits for them.
		r = h.Do(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: []string{"03 07 12 19 25 31+09", "10523.61"}})
		if r.Status != http.StatusConflict || r.Error().Code != "too_early" || !strings.Contains(r.Error().Message, "此前不能抽取") {
			t.Fatalf("draw before sources_available_at: %d %s", r.Status, r.Body)
		}
		h.Advance(time.Second) // the sources are public

		// Draw: one value per named source, once.
		h.MustDo(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: []string{"03 07 12 19 25 31+09"}}, http.StatusBadRequest, nil)
		h.MustDo(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: []string{"03 07 12 19 25 31+09", "10\t1"}}, http.StatusBadRequest, nil)
		h.MustDo(t, "POST", path+"/draw", adminA, api.DrawRequest{Randomness: []string{"a", "b"}}, http.StatusForbidden, nil)
		values := []string{"03 07 12 19 25 31+09", "10523.61"}
		h.MustDo(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: values}, http.StatusOK, &c)
		digest, _ := draw.ParseHash(c.ManifestDigest)
		if c.Status != "drawn" || c.Seed != draw.Seed(digest, values).String() || c.ConfirmDeadline == nil {
			t.Fatalf("drawn %+v", c)
		}
		// Drawn on Monday 2026-11-02: the deadline is the end of Tuesday in Shanghai.
		if got := c.ConfirmDeadline.UTC().Format("2006-01-02 15:04"); got != "2026-11-03 15:59" {
			t.Fatalf("confirm deadline %s", got)
		}
		h.MustDo(t, "POST", path+"/draw", coordA, api.DrawRequest{Randomness: []string{"9", "9"}}, http.StatusConflict, nil)

		var sel api.List[api.Selection]
		h.MustDo(t, "GET", path+"/selections", adminB, nil, http.StatusOK, &sel)
		if sel.Total != 6 { // ceil(0.15 × 40)
			t.Fatalf("%d selections, want 6", sel.Total)
		}
		for _, s := range sel.Items {
			if s.EnterpriseID == 0 || s.Kind != "initial" || s.Replaced {
				t.Fatalf("selection %+v", s)
			}
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/selections", onlyB.ID), coordA, nil, http.StatusNotFound, nil)

		// The public record verifies, and names an altered selection.
		rec, raw := getRecord(t, h, c.ID)
		if err := draw.Verify(rec); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if rec.Manifest != string(mr.Body) || len(rec.Selection) != 6 || rec.Selection[0].Ticket != sel.Items[0].Ticket {
			t.Fatalf("record does not match the manifest or selections")
		}
		rec.Selection[3].CreditCode = cafes["A"][0]
		if rec.Selection[3].CreditCode == sel.Items[3].CreditCode {
			rec.Selection[3].CreditCode = cafes["B"][0]
		}
		var d *draw.Disagreement
		if err := draw.Verify(rec); !errors.As(err, &d) || d.Where != "selection[3]" {
			t.Fatalf("altered record: %v", err)
		}

		// No personal data in public output.
		for name, in := range h.Inspectors {
			for _, secret := range []string{in.Name, in.Phone} {
				if bytes.Contains(raw, []byte(secret)) || bytes.Contains(mr.Body, []byte(secret)) {
					t.Errorf("public output contains %s's %q", name, secret)
				}
			}
		}
		if bytes.Contains(raw, []byte("张三")) {
			t.Error("public record contains a legal representative")
		}
		var pub api.List[api.PublicCampaign]
		h.MustDo(t, "GET", "/public/campaigns", "", nil, http.StatusOK, &pub)
		if pub.Total != 1 || pub.Items[0].ManifestDigest != c.ManifestDigest || pub.Items[0].Seed != c.Seed {
			t.Fatalf("public list %+v", pub)
		}
	})
}

func TestCampaign_StrataAndExclusions(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		cafes := campaignFixture(t, h, 53)
		coordA := h.Token(t, "coord-a")
		run := func(body map[string]any) api.Campaign {
			t.Helper()
			var c api.Campaign
			h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &c)
			h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", c.ID), coordA, nil, http.StatusOK, &c)
			h.Advance(time.Second) // the sources are public
			h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/draw", c.ID), coordA, api.DrawRequest{Randomness: []string{"1", "2"}}, http.StatusOK, &c)
			return c
		}

		// A class with no ratio and no default cannot be committed.
		body := draftBody(h, "无默认比例")
		body["ratio"] = map[string]any{"by_class": map[string]string{"A": "0.1"}}
		var c api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &c)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", c.ID), coordA, nil, http.StatusBadRequest, nil)

		// Stratified: k = ceil(r × N) per stratum; C and "" share the default.
		body = draftBody(h, "分类抽查")
		body["ratio"] = map[string]any{"default": "0.2", "by_class": map[string]string{"A": "0.1", "B": "0.333", "D": "1"}}
		first := run(body)
		rec, _ := getRecord(t, h, first.ID)
		if err := draw.Verify(rec); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, it := range rec.Selection {
			got[it.Stratum]++
		}
		n := func(class string) int { return len(cafes[class]) }
		want := map[string]int{
			"A": draw.MustRatio("0.1").Count(n("A")), "B": draw.MustRatio("0.333").Count(n("B")),
			"D": n("D"), "": draw.MustRatio("0.2").Count(n("C") + n("")),
		}
		for s, k := range want {
			if got[s] != k {
				t.Errorf("stratum %q: %d selected, want %d (= ceil)", s, got[s], k)
			}
		}
		if want["A"] != 2 || want["B"] != 4 || want[""] != 5 { // 11×0.1, 11×0.333, 21×0.2, all rounded up
			t.Errorf("fixture sizes changed: %v", want)
		}

		// Exclusion window: the first campaign's targets are left out of a
		// campaign starting within 6 months of its window's end.
		body = draftBody(h, "半年后复查")
		body["window_start"], body["window_end"] = "2027-03-01", "2027-03-06"
		body["exclusion_months"] = 6
		var second api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &second)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", second.ID), coordA, nil, http.StatusOK, &second)
		if second.PopulationSize != 53-len(rec.Selection) {
			t.Fatalf("population %d, want %d", second.PopulationSize, 53-len(rec.Selection))
		}
		mr := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", second.ID), "", nil, http.StatusOK, nil)
		m, err := draw.ParseManifest(mr.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Exclusions) != len(rec.Selection) {
			t.Fatalf("%d exclusions, want %d", len(m.Exclusions), len(rec.Selection))
		}
		wantReason := fmt.Sprintf("inspected in campaign %d, window end 2026-12-06", first.ID)
		if !strings.Contains(m.Exclusions[0].Reason, wantReason) {
			t.Fatalf("reason %q", m.Exclusions[0].Reason)
		}

		// Outside the window (ended more than 3 months before): nothing excluded.
		body["exclusion_months"] = 2
		var third api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", coordA, body, http.StatusCreated, &third)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/commit", third.ID), coordA, nil, http.StatusOK, &third)
		if third.PopulationSize != 53 {
			t.Fatalf("population %d, want 53", third.PopulationSize)
		}
	})
}
