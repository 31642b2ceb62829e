package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/syncproto"
)

// personalPacket is a packet whose record carries everything personal a
// visit can: a photo on every non-compliant answer, the legal
// representative's signature, the stamp and the GPS fix. It returns the
// strings that must never appear in public.
func (f *resultFixture) personalPacket(t *testing.T) (*server.Packet, []string) {
	t.Helper()
	p := f.is.Packets[f.next]
	f.next++
	a, b := f.dev["insp-a1"], f.dev["insp-b1"]
	photo := a.upload(t, pngBytes("publication-photo-"+p.ID, 400))
	sig := a.upload(t, pngBytes("publication-signature-"+p.ID, 400))
	stamp := a.upload(t, pngBytes("publication-stamp-"+p.ID, 400))
	recA := a.section(p, f.h.DeptA.Code, 1, syncproto.ResultNonCompliant)
	for i := range recA.Answers {
		recA.Answers[i].Note = "现场负责人张三丰称证照在办理中"
		recA.Answers[i].Photos = []syncproto.AttachmentRef{photo}
	}
	recA.Attachments = syncproto.AttachmentList([]syncproto.AttachmentRef{photo})
	sa, sb := a.seal(t, recA, a.Key), b.seal(t, b.section(p, f.h.DeptB.Code, 1, syncproto.ResultCompliant), b.Key)
	for _, m := range []struct {
		d *fieldDevice
		m syncproto.Mutation
	}{{a, sa}, {b, sb}} {
		if r := m.d.push(t, m.m); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("seal: %+v", r.Results)
		}
	}
	rec := a.notLocatable(p.ID, ref(sa), ref(sb))
	rec.ClosedAt = visitDay
	rec.Close = syncproto.CloseMutation{
		Outcome:    syncproto.OutcomeSigned,
		Signatures: []syncproto.Signature{{Role: syncproto.SignerRepresentative, Name: "李法人甲", Image: sig}},
		Stamp:      &stamp,
		Location:   &syncproto.Location{Latitude: 24.4798123, Longitude: 118.0894456, AccuracyM: 12},
	}
	cm := a.sealClose(t, rec, a.Key)
	if r := a.push(t, cm); r.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("close: %+v", r.Results)
	}
	secrets := []string{photo.SHA256, sig.SHA256, stamp.SHA256, "李法人甲", "张三丰", "24.4798123", "118.0894456", "24.47981", "118.08944",
		hex.EncodeToString(cm.SealClose.Signature), base64.StdEncoding.EncodeToString(cm.SealClose.Signature),
		hex.EncodeToString(sa.Seal.Signature), base64.StdEncoding.EncodeToString(sa.Seal.Signature)}
	return p, secrets
}

// harnessSecrets are the personal data of every harness inspector: names
// and phones; certs are their certificate numbers.
func harnessSecrets(h *apptest.Harness) (secrets, certs []string) {
	for _, in := range h.Inspectors {
		secrets = append(secrets, in.Name, in.Phone)
		certs = append(certs, in.CertificateNumber)
	}
	return secrets, certs
}

// approveA enters department A's result on p (by insp-a1, with code) and
// approves it (admin-a).
func (f *resultFixture) approveA(t *testing.T, p *server.Packet, code string) syncproto.Result {
	t.Helper()
	r := f.resultOf(t, p)
	if st, _, body := f.act(t, r.ID, "insp-a1", "enter", entry(code, nil)); st != http.StatusOK {
		t.Fatalf("enter: %d %s", st, body)
	}
	st, out, body := f.act(t, r.ID, "admin-a", "approve", map[string]any{"resolutions": []any{}})
	if st != http.StatusOK {
		t.Fatalf("approve: %d %s", st, body)
	}
	return out
}

func exportRows(t *testing.T, h *apptest.Harness, campaignID int64, token, format string) ([][]string, []byte) {
	t.Helper()
	r := h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/publication-export?format=%s", campaignID, format), token, nil, http.StatusOK, nil)
	if format == "csv" {
		body := bytes.TrimPrefix(r.Body, []byte("\ufeff"))
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows, r.Body
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer // the cells' text: an XLSX is a zip, scanned as read
	for _, row := range rows {
		all.WriteString(strings.Join(row, "\t") + "\n")
	}
	return rows, all.Bytes()
}

// TestPublication runs publication through the HTTP API: approved results
// are published with the audit chain's head, the public listings and the
// export hold every approved result and nothing else, a published result
// is no longer overdue, and one corrected after publication is published
// again as a correction beside the original.
func TestPublication(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 3)
		p1, secrets := f.personalPacket(t)
		p2 := f.packet(t, "one")
		p3 := f.packet(t, "one")
		r1 := f.approveA(t, p1, server.ResultCodePendingFollowUp)
		r2 := f.approveA(t, p2, server.ResultCodeNoProblem)
		// p3's A result is entered only, B's results stay drafts: none is published.
		r3 := f.resultOf(t, p3)
		if st, _, body := f.act(t, r3.ID, "insp-a1", "enter", entry(server.ResultCodeNoProblem, nil)); st != http.StatusOK {
			t.Fatalf("enter: %d %s", st, body)
		}
		cid := f.is.Campaign.ID

		// The publication deadline passes: both approved results are overdue.
		h.Advance(45 * 24 * time.Hour)
		coord := h.Token(t, "coord-a")
		overdue := func() []int64 {
			var o server.OverdueResults
			h.MustDo(t, "GET", fmt.Sprintf("/v1/results/overdue?campaign_id=%d", cid), coord, nil, http.StatusOK, &o)
			var ids []int64
			for _, x := range o.PublicationOverdue {
				ids = append(ids, x.Result.ID)
			}
			slices.Sort(ids)
			return ids
		}
		if got := overdue(); !slices.Equal(got, []int64{r1.ID, r2.ID}) {
			t.Fatalf("publication overdue before publishing: %v, want %d and %d", got, r1.ID, r2.ID)
		}

		// Only the lead coordinator publishes; no public listing before.
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", cid), "", nil, http.StatusNotFound, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", cid), h.Token(t, "coord-b"), map[string]any{}, http.StatusForbidden, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", cid), h.Token(t, "admin-a"), map[string]any{}, http.StatusForbidden, nil)
		var pub server.Publication
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", cid), coord, map[string]any{}, http.StatusCreated, &pub)
		if pub.Results != 2 || pub.Corrections != 0 || pub.AuditSeq == 0 || len(pub.AuditHead) != 64 {
			t.Fatalf("publication: %+v", pub)
		}
		// Nothing new: a second publication is refused and changes nothing.
		if r := h.Do(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", cid), coord, map[string]any{}); r.Status != http.StatusConflict {
			t.Fatalf("second publication: %d %s", r.Status, r.Body)
		}
		if got := overdue(); len(got) != 0 {
			t.Fatalf("published results still overdue: %v", got)
		}

		// The chain: the publication's event follows the head it names, and
		// every transition of the results is there.
		events := map[string]int{}
		var pubEvent *server.AuditEvent
		if err := h.App.DB.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
			events[e.Action]++
			if e.Action == "publication.publish" {
				ev := *e
				pubEvent = &ev
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if pubEvent == nil || pubEvent.Seq != pub.AuditSeq+1 || pubEvent.PrevHash != pub.AuditHead || pubEvent.ObjectID != strconv.FormatInt(cid, 10) {
			t.Fatalf("publication event %+v does not follow the head %d %s", pubEvent, pub.AuditSeq, pub.AuditHead)
		}
		if events["result.enter"] != 3 || events["result.approve"] != 2 {
			t.Fatalf("result events: %v", events)
		}

		// The public listing: the two approved results, frozen, and nothing else.
		var list server.PublicCampaignResults
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", cid), "", nil, http.StatusOK, &list)
		want := map[string]string{p1.Content.Enterprise.CreditCode: "发现问题待后续处理", p2.Content.Enterprise.CreditCode: "未发现问题"}
		if len(list.Results) != 2 || len(list.Publications) != 1 || list.Publications[0].AuditHead != pub.AuditHead || list.Publications[0].PublishedBy != nil {
			t.Fatalf("public listing: %+v", list)
		}
		for _, r := range list.Results {
			if want[r.CreditCode] != r.ResultTitle || r.Authority != h.DeptA.Name || r.InspectionDate != "2026-11-02" || r.Correction {
				t.Errorf("public entry %+v", r)
			}
		}
		var ent server.PublicEnterpriseResults
		h.MustDo(t, "GET", "/public/enterprises/"+p3.Content.Enterprise.CreditCode+"/results", "", nil, http.StatusOK, &ent)
		if len(ent.Results) != 0 {
			t.Fatalf("an unapproved result is public: %+v", ent)
		}

		// The public name search: one bounded query, substrings as written.
		byName := func(q string, limit int) ([]string, bool) {
			t.Helper()
			rs, more, err := h.App.Results.FindPublicResultsByName(context.Background(), q, limit)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var codes []string
			for _, r := range rs {
				codes = append(codes, r.CreditCode)
			}
			return codes, more
		}
		name1, name2 := p1.Content.Enterprise.Name, p2.Content.Enterprise.Name
		if got, more := byName(name1, 10); !slices.Equal(got, []string{p1.Content.Enterprise.CreditCode}) || more {
			t.Errorf("search %q: %v (more %v), want only %s", name1, got, more, p1.Content.Enterprise.CreditCode)
		}
		if got, _ := byName(p3.Content.Enterprise.Name, 10); slices.Contains(got, p3.Content.Enterprise.CreditCode) {
			t.Errorf("the search finds an unpublished enterprise: %v", got)
		}
		common := commonPrefix(name1, name2)
		if common == "" {
			t.Fatalf("the fixture's names %q and %q share nothing", name1, name2)
		}
		if got, more := byName(common, 10); len(got) != 2 || more {
			t.Errorf("search %q: %v (more %v), want both published entries", common, got, more)
		}
		if got, more := byName(common, 1); len(got) != 1 || !more {
			t.Errorf("search %q with limit 1: %v (more %v), want one and more", common, got, more)
		}
		for _, q := range []string{"%", "_", common + "%"} {
			if got, _ := byName(q, 10); len(got) != 0 {
				t.Errorf("search %q is a pattern: %v", q, got)
			}
		}
		h.MustDo(t, "GET", "/public/enterprises/"+p1.Content.Enterprise.CreditCode+"/results", "", nil, http.StatusOK, &ent)
		if len(ent.Results) != 1 || ent.Results[0].ResultCode != server.ResultCodePendingFollowUp {
			t.Fatalf("enterprise listing: %+v", ent)
		}
		if r := h.Do(t, "GET", "/public/enterprises/not-a-code/results", "", nil); r.Status != http.StatusBadRequest {
			t.Fatalf("bad credit code: %d", r.Status)
		}

		// The public record names the head at publication, and still verifies as a draw record.
		rr := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", cid), "", nil, http.StatusOK, nil)
		var rec draw.Record
		dec := json.NewDecoder(bytes.NewReader(rr.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		if rec.AuditHeadAtPublication != pub.AuditHead || len(rec.Publications) != 1 || rec.Publications[0].AuditSeq != pub.AuditSeq {
			t.Fatalf("record publications: %+v, head %s", rec.Publications, rec.AuditHeadAtPublication)
		}

		// The export: one row per approved result, the columns the national system imports.
		for _, format := range []string{"csv", "xlsx"} {
			rows, _ := exportRows(t, h, cid, coord, format)
			if len(rows) != 3 || !slices.Equal(rows[0], []string{"统一社会信用代码", "企业名称", "抽查类型", "检查实施机关", "检查完成日期", "检查结果"}) {
				t.Fatalf("%s export: %q", format, rows)
			}
			for _, row := range rows[1:] {
				if want[row[0]] != row[5] || row[2] != "部门联合双随机抽查" || row[3] != h.DeptA.Name || row[4] != "2026-11-02" {
					t.Errorf("%s export row %q", format, row)
				}
			}
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/publication-export?format=pdf", cid), coord, nil, http.StatusBadRequest, nil)
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/publication-export", cid), h.Token(t, "coord-b"), nil, http.StatusForbidden, nil)

		// A correction after publication: reopened (the department's admin
		// only, with a reason), entered again with another code, approved,
		// and published again as a correction beside the original.
		admin := h.Token(t, "admin-a")
		h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/reopen", r1.ID), h.Token(t, "insp-a2"), map[string]string{"reason": "更正"}, http.StatusForbidden, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/reopen", r1.ID), h.Token(t, "admin-b"), map[string]string{"reason": "更正"}, http.StatusNotFound, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/reopen", r1.ID), admin, map[string]string{"reason": " "}, http.StatusBadRequest, nil)
		h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/reopen", r3.ID), admin, map[string]string{"reason": "更正"}, http.StatusConflict, nil)
		var reopened syncproto.Result
		h.MustDo(t, "POST", fmt.Sprintf("/v1/results/%d/reopen", r1.ID), admin, map[string]string{"reason": "企业已当场整改，结果应为已责令改正"}, http.StatusOK, &reopened)
		if reopened.State != syncproto.ResultReturned || reopened.PublishedAt != nil {
			t.Fatalf("reopened: %+v", reopened)
		}
		f.tokens = map[string]string{} // the clock moved: sign in again
		if st, _, body := f.act(t, r1.ID, "insp-a1", "enter", entry(server.ResultCodeCorrected, nil)); st != http.StatusOK {
			t.Fatalf("re-enter: %d %s", st, body)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", cid), "", nil, http.StatusOK, &list)
		if len(list.Results) != 2 {
			t.Fatalf("reopening changed the public listing: %+v", list.Results)
		}
		if st, _, body := f.act(t, r1.ID, "admin-a", "approve", map[string]any{"resolutions": []any{}}); st != http.StatusOK {
			t.Fatalf("approve again: %d %s", st, body)
		}
		var pub2 server.Publication
		h.MustDo(t, "POST", fmt.Sprintf("/v1/campaigns/%d/publication", cid), coord, map[string]any{}, http.StatusCreated, &pub2)
		if pub2.Results != 0 || pub2.Corrections != 1 || pub2.AuditSeq <= pub.AuditSeq {
			t.Fatalf("correction publication: %+v", pub2)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", cid), "", nil, http.StatusOK, &list)
		if len(list.Results) != 3 || len(list.Publications) != 2 {
			t.Fatalf("after the correction: %+v", list)
		}
		var orig, corr *server.PublicResult
		for i := range list.Results {
			if list.Results[i].CreditCode == p1.Content.Enterprise.CreditCode {
				if list.Results[i].Correction {
					corr = &list.Results[i]
				} else {
					orig = &list.Results[i]
				}
			}
		}
		if orig == nil || corr == nil || corr.Corrects == nil || *corr.Corrects != orig.EntryID || orig.CorrectedBy == nil ||
			*orig.CorrectedBy != corr.EntryID || orig.ResultCode != server.ResultCodePendingFollowUp || corr.ResultCode != server.ResultCodeCorrected {
			t.Fatalf("correction not shown as one: original %+v, correction %+v", orig, corr)
		}
		h.MustDo(t, "GET", "/public/enterprises/"+p1.Content.Enterprise.CreditCode+"/results", "", nil, http.StatusOK, &ent)
		if len(ent.Results) != 2 || !ent.Results[1].Correction {
			t.Fatalf("enterprise listing after the correction: %+v", ent)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", cid), "", nil, http.StatusOK, &rec)
		if rec.AuditHeadAtPublication != pub2.AuditHead || len(rec.Publications) != 2 {
			t.Fatalf("record after the correction: %+v", rec.Publications)
		}
		rows, _ := exportRows(t, h, cid, coord, "csv")
		if len(rows) != 3 {
			t.Fatalf("export after the correction: %q", rows)
		}
		for _, row := range rows[1:] {
			if row[0] == p1.Content.Enterprise.CreditCode && row[5] != "发现问题已责令改正" {
				t.Fatalf("export keeps the corrected result: %q", row)
			}
		}

		// No personal data anywhere public, nor in the export: every /public
		// route the router knows, on this campaign and its enterprises.
		people, certs := harnessSecrets(h)
		secrets = append(secrets, people...)
		// Certificate numbers are items of the draw's public manifest and
		// record by design (the draw is re-computed from them); everywhere
		// else public they must not appear.
		scan := func(where string, body []byte) {
			list := secrets
			if !strings.HasSuffix(where, "/manifest") && !strings.HasSuffix(where, "/record") {
				list = append(slices.Clone(secrets), certs...)
			}
			for _, s := range list {
				if s != "" && bytes.Contains(body, []byte(s)) {
					t.Errorf("%s holds personal data %q", where, s)
				}
			}
		}
		walked := 0
		for _, rt := range h.App.API.Routes() {
			// The public JSON routes, and the public pages (server/web)
			// that show the same records.
			page := strings.HasPrefix(rt.Name, webHandlers) && !strings.HasPrefix(rt.Path, "/console") && !strings.HasPrefix(rt.Path, "/assets/")
			if rt.Method != http.MethodGet || !strings.HasPrefix(rt.Path, "/public/") && !page {
				continue
			}
			for i, cc := range []string{p1.Content.Enterprise.CreditCode, p2.Content.Enterprise.CreditCode} {
				path := strings.NewReplacer(":id", strconv.FormatInt(cid, 10), ":credit_code", cc).Replace(rt.Path)
				if rt.Path == "/results" { // the search by name
					path += "?q=" + url.QueryEscape([]*server.Packet{p1, p2}[i].Content.Enterprise.Name)
				}
				r := h.Do(t, "GET", path, "", nil)
				if r.Status != http.StatusOK {
					t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
				}
				scan("GET "+path, r.Body)
				walked++
				if page && strings.Contains(rt.Path, "results") && !bytes.Contains(r.Body, []byte(cc)) {
					t.Errorf("GET %s does not show the published result of %s", path, cc)
				}
			}
		}
		if walked < 20 {
			t.Fatalf("walked %d public routes", walked)
		}
		for _, format := range []string{"csv", "xlsx"} {
			_, text := exportRows(t, h, cid, coord, format)
			scan(format+" export", text)
		}
		// The secrets are real: staff views of the same result do hold some.
		rv := h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", r1.ID), admin, nil, http.StatusOK, nil)
		if !bytes.Contains(rv.Body, []byte(secrets[0])) {
			t.Fatalf("the staff view lacks the photo %s: the scan would prove nothing", secrets[0])
		}
	})
}

// commonPrefix is the longest common prefix of a and b, whole runes.
func commonPrefix(a, b string) string {
	ra, rb := []rune(a), []rune(b)
	n := 0
	for n < len(ra) && n < len(rb) && ra[n] == rb[n] {
		n++
	}
	return string(ra[:n])
}
