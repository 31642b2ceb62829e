package web_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/calendar"
)

// TestLetterDeliveryForm_Streamed: the delivery form is read as a stream,
// as the API's proof route reads its body. A proof of nearly 10 MiB is
// never held in memory, and neither is a field of that size (refused as
// soon as it passes the bound); the proof's temporary file is gone after
// every answer, a refusal included.
func TestLetterDeliveryForm_Streamed(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 1})
		path := fmt.Sprintf("/console/campaigns/%d/letters/targets/%s", is.Campaign.ID, is.Packets[0].CreditCode)
		today := server.DateOf(h.Now().In(calendar.Shanghai())).String()
		c := newClient(t, h)
		c.login(t, "coord-a")
		// form is a delivery form with a proof of proof bytes (none if nil)
		// and a note of note.
		form := func(proof []byte, note string) (*bytes.Reader, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, kv := range [][2]string{{"csrf", c.token(t, path)}, {"delivered_on", today}, {"method", "post"}} {
				if err := mw.WriteField(kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
			if proof != nil {
				hdr := textproto.MIMEHeader{}
				hdr.Set("Content-Disposition", `form-data; name="proof"; filename="回执.png"`)
				hdr.Set("Content-Type", "image/png")
				w, err := mw.CreatePart(hdr)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(proof)
			}
			if err := mw.WriteField("note", note); err != nil {
				t.Fatal(err)
			}
			mw.Close()
			return bytes.NewReader(buf.Bytes()), mw.FormDataContentType()
		}
		send := func(body *bytes.Reader, ctype string) *page {
			t.Helper()
			req, err := http.NewRequest("POST", h.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Origin", h.URL)
			req.Header.Set("Accept", "text/html")
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
		}
		// allocated is how many bytes the process allocated while fn ran.
		allocated := func(fn func()) uint64 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			fn()
			runtime.ReadMemStats(&after)
			return after.TotalAlloc - before.TotalAlloc
		}
		leftovers := func() []string {
			m, err := filepath.Glob(filepath.Join(h.App.Web.UploadDir, "proof-form-*"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}

		// A proof of 9 MiB that is not the image it says: refused on its
		// bytes, without the file ever being in memory.
		junk := bytes.Repeat([]byte("not a png "), (9<<20)/10)
		body, ctype := form(junk, "")
		var r *page
		if n := allocated(func() { r = send(body, ctype) }); n > 4<<20 {
			t.Errorf("a 9 MiB proof allocated %d bytes", n)
		}
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "未予保存") {
			t.Errorf("junk proof: %d %s", r.Status, r.Body)
		}
		// A 9 MiB note: refused once past the field bound, not read whole.
		body, ctype = form(nil, strings.Repeat("长", 3<<20))
		if n := allocated(func() { r = send(body, ctype) }); n > 4<<20 {
			t.Errorf("a 9 MiB field allocated %d bytes", n)
		}
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "表单无效") {
			t.Errorf("long field: %d %s", r.Status, r.Body)
		}
		if m := leftovers(); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
		// Nothing was recorded.
		var l api.List[api.LetterDelivery]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", is.Campaign.ID), h.Token(t, "coord-a"), nil, http.StatusOK, &l)
		if l.Total != 0 {
			t.Fatalf("recorded: %+v", l.Items)
		}

		// A good proof and a note of the most characters still go through.
		body, ctype = form(scanPNG(t), strings.Repeat("𠀀", server.MaxDeliveryNote))
		if r := send(body, ctype); r.Status != http.StatusSeeOther {
			t.Fatalf("a good form: %d %s", r.Status, r.Body)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/letters/deliveries", is.Campaign.ID), h.Token(t, "coord-a"), nil, http.StatusOK, &l)
		if l.Total != 1 || l.Items[0].ProofSHA256 == "" || l.Items[0].Note != strings.Repeat("𠀀", server.MaxDeliveryNote) {
			t.Fatalf("recorded: %+v", l.Items)
		}
		if m := leftovers(); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}

		// A coordinator who may not record this campaign's deliveries
		// (another department's, not taking part: 404; taking part but
		// not leading: 403, as the API's proof route answers) has nothing
		// written to disk: the disk gate before the spool is never reached.
		gated := 0
		h.App.Web.FreeDiskGate = func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { gated++; return next(c) }
		}
		defer func() { h.App.Web.FreeDiskGate = nil }()
		onlyA := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 1, Departments: []*server.Department{h.DeptA}})
		onlyAPath := fmt.Sprintf("/console/campaigns/%d/letters/targets/%s", onlyA.Campaign.ID, onlyA.Packets[0].CreditCode)
		for _, tc := range []struct {
			actor, path string
			status      int
		}{
			{"coord-b", onlyAPath, http.StatusNotFound},
			{"coord-b", path, http.StatusForbidden},
			{"coord-a", onlyAPath, http.StatusSeeOther},
		} {
			c = newClient(t, h)
			c.login(t, tc.actor)
			path = tc.path
			before := gated
			body, ctype = form(scanPNG(t), "第二次送达")
			if r := send(body, ctype); r.Status != tc.status {
				t.Errorf("%s on %s: %d, want %d", tc.actor, tc.path, r.Status, tc.status)
			}
			if spooled := gated > before; spooled != (tc.status == http.StatusSeeOther) {
				t.Errorf("%s on %s: proof spooled %v", tc.actor, tc.path, spooled)
			}
		}
	})
}
