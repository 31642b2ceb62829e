package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// pdfText extracts a PDF's text with pdftotext (poppler-utils), in the order
// it was written, and fails on a character printed without a glyph (U+FFFD
// from pdftotext, or 〓, which the writer prints for a character its fonts
// lack).
func pdfText(t testing.TB, doc []byte) string {
	t.Helper()
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.200q", doc)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils) is needed to check printed documents: %v", err)
	}
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	txt := string(out)
	if i := strings.IndexAny(txt, "\uFFFD\u3013"); i >= 0 {
		t.Fatalf("the PDF has a character without a glyph near %q", txt[max(0, i-60):min(len(txt), i+60)])
	}
	return txt
}

// pdfHas fails for each string the text lacks, white space aside (a table
// cell wraps its text over lines).
func pdfHas(t testing.TB, txt string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(txt), "")
	for _, w := range want {
		if !strings.Contains(flat, strings.Join(strings.Fields(w), "")) {
			t.Errorf("the PDF lacks %q", w)
		}
	}
}

// refusedPacket seals both sections of the fixture's next packet — A's
// items non-compliant with a note and a photo each, B's compliant — and
// closes the visit as refused, with the note and both inspectors'
// signatures. It returns the packet and the refusal note.
func refusedPacket(t *testing.T, f *resultFixture) (*server.Packet, string) {
	t.Helper()
	p := f.is.Packets[f.next]
	f.next++
	a, b := f.dev["insp-a1"], f.dev["insp-b1"]
	recA := a.section(p, f.h.DeptA.Code, 1, syncproto.ResultNonCompliant)
	var photos []syncproto.AttachmentRef
	for i := range recA.Answers {
		ph := a.upload(t, pngBytes(p.ID+"photo"+recA.Answers[i].ItemCode, 2000))
		recA.Answers[i].Note = "未在显著位置悬挂网络文化经营许可证"
		recA.Answers[i].Photos = []syncproto.AttachmentRef{ph}
		photos = append(photos, ph)
	}
	recA.Attachments = syncproto.AttachmentList(photos)
	sa, sb := a.seal(t, recA, a.Key), b.seal(t, b.section(p, f.h.DeptB.Code, 1, syncproto.ResultCompliant), b.Key)
	for _, m := range []struct {
		d *fieldDevice
		m syncproto.Mutation
	}{{a, sa}, {b, sb}} {
		if r := m.d.push(t, m.m); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("seal: %+v", r.Results)
		}
	}
	note := "负责人拒绝在检查记录上签字，称须请示总公司，执法人员二人在场见证"
	rec := syncproto.CloseRecord{
		PacketID: p.ID, DeviceID: a.ID, InspectorID: a.inspectorID(),
		Close: syncproto.CloseMutation{Outcome: syncproto.OutcomeRefused, Note: note, Signatures: []syncproto.Signature{
			{Role: syncproto.SignerInspector, Name: "执法人员甲", InspectorID: a.inspectorID(), Image: a.upload(t, pngBytes(p.ID+"sig-a", 1500))},
			{Role: syncproto.SignerInspector, Name: "执法人员乙", InspectorID: b.inspectorID(), Image: a.upload(t, pngBytes(p.ID+"sig-b", 1500))},
		}},
		Covers: []syncproto.SectionRef{ref(sa), ref(sb)}, ClosedAt: visitDay,
	}
	if r := a.push(t, a.sealClose(t, rec, a.Key)); r.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("close: %+v", r.Results)
	}
	return p, note
}

func TestPacketRecordPDF(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 1)
		p, note := refusedPacket(t, f)
		var jr syncproto.JointRecord
		h.MustDo(t, "GET", "/v1/packets/"+p.ID+"/record", f.token(t, "root"), nil, http.StatusOK, &jr)

		for _, who := range []string{"root", "insp-a1", "insp-b1"} {
			r := h.MustDo(t, "GET", "/v1/packets/"+p.ID+"/record.pdf", f.token(t, who), nil, http.StatusOK, nil)
			if ct := r.Header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("%s: Content-Type %q", who, ct)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: a record with signatures and photos may be cached", who)
			}
			txt := pdfText(t, r.Body)
			e := p.Content.Enterprise
			pdfHas(t, txt, "“双随机、一公开”跨部门联合检查记录表", "一企一表", e.Name, e.CreditCode, e.Address,
				"拒绝签字", note, "执法人员甲", "执法人员乙", "未在显著位置悬挂网络文化经营许可证",
				h.DeptA.Name, h.DeptB.Name, "/v1/packets/"+p.ID+"/record", jr.Closes[0].Hash)
			for _, s := range p.Content.Sections {
				for _, it := range s.Items {
					pdfHas(t, txt, it.Title)
				}
			}
			for _, js := range jr.Sections {
				pdfHas(t, txt, js.Current.Hash)
			}
			for _, m := range p.Content.Team {
				pdfHas(t, txt, m.Name, m.CertificateNumber)
			}
			// Every photo and signature is drawn from the blob store, none
			// printed as a missing attachment.
			if n := bytes.Count(r.Body, []byte("/Subtype /Image")); n != len(jr.Attachments) {
				t.Errorf("%s: %d images in the PDF, want the record's %d attachments", who, n, len(jr.Attachments))
			}
			if strings.Contains(txt, "附件未取得") {
				t.Errorf("%s: an attachment was not read from the blob store", who)
			}
		}
		// An inspector not on the team, and a malformed id: not found.
		h.MustDo(t, "GET", "/v1/packets/"+p.ID+"/record.pdf", f.token(t, "insp-a3"), nil, http.StatusNotFound, nil)
		h.MustDo(t, "GET", "/v1/packets/nope/record.pdf", f.token(t, "root"), nil, http.StatusNotFound, nil)
	})
}

func TestCampaignLettersPDF(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 3, InspectorsPerDepartment: 2,
			Items: map[string][]string{h.DeptA.Code: {"a-licence", "a-minors"}, h.DeptB.Code: {"b-price"}}})
		base := fmt.Sprintf("/v1/campaigns/%d/letters.pdf", is.Campaign.ID)
		tok := h.Token(t, "coord-a")
		// Without a contact on the campaign, a line to fill in by hand.
		blank := pdfText(t, h.MustDo(t, "GET", base+"?target="+is.Packets[0].CreditCode, tok, nil, http.StatusOK, nil).Body)
		pdfHas(t, blank, "联系部门：____________联系电话：____________")
		contact := "市文化市场综合执法支队办公室 联系电话：0592-5550123"
		h.MustDo(t, "PATCH", fmt.Sprintf("/v1/campaigns/%d", is.Campaign.ID), tok,
			map[string]any{"contact": map[string]string{"office": "市文化市场综合执法支队办公室", "phone": "0592-5550123"}}, http.StatusOK, nil)
		r := h.MustDo(t, "GET", base, tok, nil, http.StatusOK, nil)
		if r.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		txt := pdfText(t, r.Body)
		if n := strings.Count(txt, "“双随机、一公开”跨部门联合抽查告知书\n"); n < len(is.Packets) {
			t.Errorf("%d letter titles for %d targets", n, len(is.Packets))
		}
		pdfHas(t, txt, is.Campaign.Name, h.DeptA.Name, h.DeptB.Name, is.Campaign.WindowStart.String(), is.Campaign.WindowEnd.String(),
			contact, is.Campaign.ManifestDigest, fmt.Sprintf("/public/campaigns/%d/manifest", is.Campaign.ID), "请准备的材料")
		for _, p := range is.Packets {
			e := p.Content.Enterprise
			pdfHas(t, txt, e.Name, e.CreditCode)
			for _, s := range p.Content.Sections {
				for _, it := range s.Items {
					if it.LegalBasis == "" {
						t.Fatalf("item %s has no legal basis to print", it.Code)
					}
					pdfHas(t, txt, it.Title, it.LegalBasis)
				}
			}
			for _, m := range p.Content.Team {
				pdfHas(t, txt, m.CertificateNumber)
			}
		}
		flat := strings.Join(strings.Fields(txt), "")
		for name, in := range h.Inspectors {
			if in.Phone != "" && strings.Contains(flat, in.Phone) {
				t.Errorf("the letters show inspector %s's phone", name)
			}
		}

		// One target's letter.
		p := is.Packets[1]
		one := pdfText(t, h.MustDo(t, "GET", base+"?target="+p.CreditCode, tok, nil, http.StatusOK, nil).Body)
		pdfHas(t, one, p.Content.Enterprise.Name, p.CreditCode, contact)
		for _, q := range is.Packets {
			if q.CreditCode != p.CreditCode && strings.Contains(one, q.CreditCode) {
				t.Errorf("the letter of %s shows %s", p.CreditCode, q.CreditCode)
			}
		}
		h.MustDo(t, "GET", base+"?target=91350200000000000X", tok, nil, http.StatusNotFound, nil)
		h.MustDo(t, "GET", base+"?contact="+url.QueryEscape(contact), tok, nil, http.StatusBadRequest, nil) // the campaign's line only
		h.MustDo(t, "GET", base, h.Token(t, "insp-a1"), nil, http.StatusForbidden, nil)
	})
}
