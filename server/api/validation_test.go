package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// wantInvalid sends a request and fails unless it is answered 400 with the
// code "invalid".
func wantInvalid(t *testing.T, h *apptest.Harness, method, path, token string, body any) {
	t.Helper()
	r := h.Do(t, method, path, token, body)
	if r.Status != http.StatusBadRequest || r.Error().Code != "invalid" {
		t.Fatalf("%s %s: status %d, want 400 invalid: %s", method, path, r.Status, r.Body)
	}
}

// TestDecode_ControlCharacters: a NUL anywhere in a JSON string is a 400
// with a stable code on both dialects, never a 500 from PostgreSQL, and
// nothing is stored; that holds before sign-in too.
func TestDecode_ControlCharacters(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		wantInvalid(t, h, "POST", "/v1/auth/login", "", map[string]any{"username": "ro\x00ot", "password": apptest.Password})
		wantInvalid(t, h, "POST", "/v1/auth/login", "", `{"username":"root","password":"a\u0000b"}`)
		root := h.Token(t, "root")
		cafe := map[string]any{
			"credit_code": creditCode(777), "name": "星际\x00网吧", "category": "internet_cafe", "district": "路南区",
		}
		wantInvalid(t, h, "POST", "/v1/enterprises", root, cafe)
		cafe["name"], cafe["address"] = "星际网吧", "唐山市\x1b路南区"
		wantInvalid(t, h, "POST", "/v1/enterprises", root, cafe)
		cafe["address"] = "唐山市路南区\n新华道1号" // a line break in a single-line field
		wantInvalid(t, h, "POST", "/v1/enterprises", root, cafe)
		var list struct{ Total int }
		h.MustDo(t, "GET", "/v1/enterprises?credit_code="+creditCode(777), root, nil, http.StatusOK, &list)
		if list.Total != 0 {
			t.Fatalf("a refused enterprise was stored: %+v", list)
		}
		admin := h.Token(t, "admin-a")
		in := h.Inspectors["insp-a1"]
		wantInvalid(t, h, "PATCH", fmt.Sprintf("/v1/inspectors/%d", in.ID), admin, map[string]any{"domains": []string{"文化\x00市场"}})
		wantInvalid(t, h, "PATCH", fmt.Sprintf("/v1/inspectors/%d", in.ID), admin, map[string]any{"phone": "139\x000000"})
		for _, p := range []string{"/v1/enterprises?district=%00", "/v1/inspectors?certificate_number=a%00", "/v1/enterprises?credit_code=%0a", "/v1/packets/a%00b"} {
			wantInvalid(t, h, "GET", p, root, nil)
		}
		wantInvalid(t, h, "POST", "/v1/check-items", admin, map[string]any{"code": "WH-09", "title": "营业执照\n悬挂"})
		wantInvalid(t, h, "POST", "/v1/check-items", admin, map[string]any{"code": "-1+1", "title": "营业执照悬挂"})
		h.MustDo(t, "POST", "/v1/check-items", admin, map[string]any{"code": "WH-09", "title": "营业执照悬挂", "legal_basis": "第一款\n第二款"}, http.StatusCreated, nil)
	})
}

// TestCampaign_ValidationBounds: a campaign samples something (ratio in
// (0, 1]), its window lies ahead (not before today in Asia/Shanghai), within
// 2000–2100 and at most 366 days, and its names cannot start a formula.
func TestCampaign_ValidationBounds(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		campaignFixture(t, h, 10)
		coord := h.Token(t, "coord-a")
		// The harness clock is 2026-11-02 09:30 UTC, 17:30 in Shanghai.
		for name, mutate := range map[string]func(b map[string]any){
			"ratio 0":     func(b map[string]any) { b["ratio"] = map[string]any{"default": "0"} },
			"ratio 0.000": func(b map[string]any) { b["ratio"] = map[string]any{"default": "0.000"} },
			"class ratio 0": func(b map[string]any) {
				b["ratio"] = map[string]any{"default": "0.1", "by_class": map[string]string{"A": "0"}}
			},
			"ratio above 1":    func(b map[string]any) { b["ratio"] = map[string]any{"default": "1.01"} },
			"window in past":   func(b map[string]any) { b["window_start"] = "2026-11-01" },
			"year 0000":        func(b map[string]any) { b["window_start"], b["window_end"] = "0000-01-01", "0000-01-05" },
			"year 9999":        func(b map[string]any) { b["window_end"] = "9999-12-31" },
			"100 years":        func(b map[string]any) { b["window_end"] = "2099-12-01" },
			"367 days":         func(b map[string]any) { b["window_end"] = "2027-12-02" },
			"formula name":     func(b map[string]any) { b["name"] = `=HYPERLINK("http://evil.example","x")` },
			"plus name":        func(b map[string]any) { b["name"] = "+1+1" },
			"at name":          func(b map[string]any) { b["name"] = "@SUM(A1)" },
			"minus name":       func(b map[string]any) { b["name"] = "-2+3" },
			"formula district": func(b map[string]any) { b["districts"] = []string{"=1+1"} },
			"formula source":   func(b map[string]any) { b["randomness_sources"] = []string{"=cmd|' /C calc'!A0"} },
			"NUL in name":      func(b map[string]any) { b["name"] = "抽查\x00" },
			"escape in name":   func(b map[string]any) { b["name"] = "抽查\x1b[31m" },
		} {
			t.Run(name, func(t *testing.T) {
				b := draftBody(h, "2026年网吧联合抽查")
				mutate(b)
				wantInvalid(t, h, "POST", "/v1/campaigns", coord, b)
			})
		}
		// Today and a window of exactly 366 days are fine.
		b := draftBody(h, "2026年网吧联合抽查")
		b["window_start"], b["window_end"] = "2026-11-02", "2027-11-02"
		var c struct{ ID int64 }
		h.MustDo(t, "POST", "/v1/campaigns", coord, b, http.StatusCreated, &c)
		path := fmt.Sprintf("/v1/campaigns/%d", c.ID)
		wantInvalid(t, h, "PATCH", path, coord, map[string]any{"window_start": "2026-10-30"})
		wantInvalid(t, h, "PATCH", path, coord, map[string]any{"ratio": map[string]any{"default": "0"}})
		wantInvalid(t, h, "PATCH", path, coord, map[string]any{"name": "=1"})
		h.MustDo(t, "PATCH", path, coord, map[string]any{"window_end": "2026-11-30"}, http.StatusOK, nil)
	})
}

// TestInspector_ValidationBounds: certificate validity within sane years,
// a bounded number of domains, names that cannot start a formula.
func TestInspector_ValidationBounds(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		admin := h.Token(t, "admin-a")
		body := func() map[string]any {
			return map[string]any{
				"name": "王五", "certificate_number": "CULTURE-0100", "certificate_valid_from": "2024-01-01",
				"certificate_valid_until": "2028-12-31", "domains": []string{"文化市场"}, "phone": "+8613912345678",
			}
		}
		many := make([]string, 10000)
		for i := range many {
			many[i] = fmt.Sprintf("领域%d", i)
		}
		for name, mutate := range map[string]func(b map[string]any){
			"from 0000":       func(b map[string]any) { b["certificate_valid_from"] = "0000-01-01" },
			"until 9999":      func(b map[string]any) { b["certificate_valid_until"] = "9999-12-31" },
			"until < from":    func(b map[string]any) { b["certificate_valid_until"] = "2023-12-31" },
			"10000 domains":   func(b map[string]any) { b["domains"] = many },
			"long domain":     func(b map[string]any) { b["domains"] = []string{strings.Repeat("文", 30)} },
			"formula name":    func(b map[string]any) { b["name"] = "=HYPERLINK(\"x\")" },
			"formula cert":    func(b map[string]any) { b["certificate_number"] = "@x" },
			"long name":       func(b map[string]any) { b["name"] = strings.Repeat("王", 40) },
			"tab in name":     func(b map[string]any) { b["name"] = "王\t五" },
			"line break cert": func(b map[string]any) { b["certificate_number"] = "CULTURE\n0100" },
		} {
			t.Run(name, func(t *testing.T) {
				b := body()
				mutate(b)
				wantInvalid(t, h, "POST", "/v1/inspectors", admin, b)
			})
		}
		// A phone may start with +: it is not a name.
		h.MustDo(t, "POST", "/v1/inspectors", admin, body(), http.StatusCreated, nil)
	})
}

// TestPublicManifest_ServedAsText: the manifest is plain text shown inline
// under a .txt name, never sniffed; and a formula-leading campaign name
// cannot get into it in the first place (TestCampaign_ValidationBounds).
func TestPublicManifest_ServedAsText(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{})
		r := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/manifest", is.Campaign.ID), "", nil, http.StatusOK, nil)
		want := fmt.Sprintf(`inline; filename="campaign-%d-manifest.txt"`, is.Campaign.ID)
		if ct, cd, ns := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.Header.Get("X-Content-Type-Options"); ct != "text/plain; charset=utf-8" || cd != want || ns != "nosniff" {
			t.Fatalf("Content-Type %q, Content-Disposition %q, X-Content-Type-Options %q", ct, cd, ns)
		}
		// A draft's manifest is a JSON 404, with no file name.
		r = h.Do(t, "GET", "/public/campaigns/999999/manifest", "", nil)
		if r.Status != http.StatusNotFound || r.Header.Get("Content-Disposition") != "" {
			t.Fatalf("missing manifest: %d %q", r.Status, r.Header.Get("Content-Disposition"))
		}
	})
}
