package pdf_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/pdf"
	"github.com/spotcheck/spotcheck/syncproto"
)

// pdfText extracts the text of a PDF with pdftotext (poppler-utils) and
// fails the test on a character that did not render: pdftotext gives U+FFFD
// or nothing for a missing glyph, so every expected string is searched for
// and no replacement character may appear.
func pdfText(t testing.TB, doc []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils) is needed to check printed documents: %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	txt := string(out)
	if err := glyphsMissing(txt); err != nil {
		t.Fatal(err)
	}
	return txt
}

// glyphsMissing reports a character printed without a glyph: U+FFFD from
// pdftotext, or the mark the writer prints in place of a character its
// font lacks.
func glyphsMissing(txt string) error {
	if i := strings.IndexFunc(txt, func(r rune) bool { return r == '\uFFFD' || r == pdf.Missing }); i >= 0 {
		return fmt.Errorf("the PDF has a character without a glyph near %q", txt[max(0, i-40):min(len(txt), i+40)])
	}
	return nil
}

// collapse drops white space, so that a string a table cell wrapped over
// two lines is still found.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func mustContain(t testing.TB, txt string, want ...string) {
	t.Helper()
	flat := collapse(txt)
	for _, w := range want {
		if !strings.Contains(flat, collapse(w)) {
			t.Errorf("the PDF lacks %q", w)
		}
	}
}

func testPNG(t testing.TB, w, h int, c color.Color) pdf.Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x/8+y/8)%2 == 0 {
				img.Set(x, y, c)
			} else {
				img.Set(x, y, color.White)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return pdf.Image{ContentType: "image/png", Data: buf.Bytes()}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sampleRecord builds a sealed joint record with nItems items per each of
// two departments, inspectors per department, nPhotos photos, a correction
// and a refused close.
func sampleRecord(t testing.TB, nItems, perDept, nPhotos int) *pdf.Record {
	return sampleRecordWith(t, nItems, perDept, nPhotos, func(i int) pdf.Image {
		img := testPNG(t, 320, 240, color.RGBA{uint8(40 * i), 90, 160, 255})
		img.Data = append(img.Data, byte(i)) // distinct bytes, same picture
		return img
	})
}

// sampleRecordWith is sampleRecord with photo(i) the i-th photo (90 and 91
// are the signatures).
func sampleRecordWith(t testing.TB, nItems, perDept, nPhotos int, photo func(int) pdf.Image) *pdf.Record {
	t.Helper()
	c := &syncproto.PacketContent{
		CampaignName: "2026年互联网上网服务营业场所跨部门联合抽查",
		WindowStart:  "2026-05-11", WindowEnd: "2026-05-16",
		Enterprise: syncproto.EnterpriseSnapshot{CreditCode: "91440300MA5FUTK12X", Name: "深圳市星河网络会所有限公司",
			Address: "深圳市南山区科技园路1号", LegalRepresentative: "王建国", LicenceNumber: "粤网文〔2024〕0001号", Category: "网吧", District: "南山区"},
	}
	images := map[string]pdf.Image{}
	addImage := func(i int) syncproto.AttachmentRef {
		img := photo(i)
		h := sha(img.Data)
		images[h] = img
		return syncproto.AttachmentRef{SHA256: h, Size: int64(len(img.Data)), ContentType: img.ContentType}
	}
	jr := &syncproto.JointRecord{PacketID: "7f3a9c0d1e2f30415263748596a7b8c9", Flags: []syncproto.RecordFlag{}}
	id := int64(1)
	nPhoto := 0
	for di, dept := range []string{"CULTURE", "SAMR"} {
		sec := syncproto.PacketSection{Department: dept}
		rec := syncproto.SectionRecord{PacketID: jr.PacketID, Department: dept, Version: 1, DeviceID: int64(10 + di), SealedAt: time.Date(2026, 5, 12, 2, 30, 0, 0, time.UTC)}
		for m := 0; m < perDept; m++ {
			c.Team = append(c.Team, syncproto.PacketMember{InspectorID: id, Department: dept, Name: fmt.Sprintf("执法员%s%d", dept, m+1), CertificateNumber: fmt.Sprintf("%s-44030%04d", dept, id)})
			rec.Certificates = append(rec.Certificates, syncproto.CertificateShown{InspectorID: id, CertificateNumber: fmt.Sprintf("%s-44030%04d", dept, id)})
			rec.InspectorID = id
			id++
		}
		for i := 0; i < nItems; i++ {
			code := fmt.Sprintf("%s-%02d", dept, i+1)
			sec.Items = append(sec.Items, syncproto.PacketItem{Code: code, Version: 1, Title: fmt.Sprintf("%s检查事项第%d项：是否按规定核对、登记上网消费者的有效身份证件", dept, i+1),
				LegalBasis: "《互联网上网服务营业场所管理条例》第二十三条", AnswerType: syncproto.AnswerCompliance})
			a := syncproto.AnswerMutation{Department: dept, ItemCode: code, ItemVersion: 1, Result: syncproto.ResultCompliant}
			if i == 1 {
				a.Result, a.Note = syncproto.ResultNonCompliant, "登记记录缺少3月份数据，已当场责令改正"
			}
			if nPhoto < nPhotos && (i%2 == 0 || nItems*2-nPhoto <= nPhotos) {
				a.Photos = append(a.Photos, addImage(nPhoto))
				nPhoto++
			}
			rec.Answers = append(rec.Answers, a)
		}
		c.Sections = append(c.Sections, sec)
		s1 := syncproto.SealedSection{SealMutation: syncproto.SealMutation{Section: rec, Hash: sha([]byte(dept + "1"))}, ReceivedAt: rec.SealedAt.Add(8 * time.Hour)}
		js := syncproto.JointSection{Department: dept, History: []syncproto.SealedSection{s1}}
		if di == 1 {
			rec2 := rec
			rec2.Version, rec2.Replaces, rec2.CorrectionReason = 2, 1, "第2项照片拍错对象，重新拍摄"
			s2 := syncproto.SealedSection{SealMutation: syncproto.SealMutation{Section: rec2, Hash: sha([]byte(dept + "2"))}, ReceivedAt: rec.SealedAt.Add(9 * time.Hour)}
			js.History = append(js.History, s2)
		}
		js.Current = &js.History[len(js.History)-1]
		jr.Sections = append(jr.Sections, js)
	}
	cl := syncproto.SealedClose{SealCloseMutation: syncproto.SealCloseMutation{Hash: sha([]byte("close")), Record: syncproto.CloseRecord{
		PacketID: jr.PacketID, DeviceID: 10, InspectorID: 1, ClosedAt: time.Date(2026, 5, 12, 3, 0, 0, 0, time.UTC),
		Close: syncproto.CloseMutation{Outcome: syncproto.OutcomeRefused, Note: "负责人李某拒绝在记录表上签字，称需请示总公司",
			Signatures: []syncproto.Signature{
				{Role: syncproto.SignerInspector, Name: c.Team[0].Name, InspectorID: 1, Image: addImage(90)},
				{Role: syncproto.SignerInspector, Name: c.Team[len(c.Team)-1].Name, InspectorID: id - 1, Image: addImage(91)},
			}},
	}}}
	for _, js := range jr.Sections {
		cl.Record.Covers = append(cl.Record.Covers, syncproto.SectionRef{Department: js.Department, Version: js.Current.Section.Version, Hash: js.Current.Hash})
	}
	jr.Closes = []syncproto.SealedClose{cl}
	return &pdf.Record{Content: c, Joint: jr, Images: images,
		Departments: map[string]string{"CULTURE": "市文化广电旅游局", "SAMR": "市市场监督管理局"},
		VerifyURL:   "https://spotcheck.example.gov.cn/v1/packets/" + jr.PacketID + "/record"}
}

func TestWriteRecord(t *testing.T) {
	r := sampleRecord(t, 20, 2, 10)
	var buf bytes.Buffer
	if err := pdf.WriteRecord(&buf, r); err != nil {
		t.Fatal(err)
	}
	txt := pdfText(t, buf.Bytes())
	mustContain(t, txt, "“双随机、一公开”跨部门联合检查记录表", "深圳市星河网络会所有限公司", "91440300MA5FUTK12X",
		"负责人李某拒绝在记录表上签字，称需请示总公司", "拒绝签字", "第2项照片拍错对象，重新拍摄", "市市场监督管理局",
		r.VerifyURL, r.Joint.Closes[0].Hash, "登记记录缺少3月份数据，已当场责令改正")
	for _, s := range r.Content.Sections {
		for _, it := range s.Items {
			mustContain(t, txt, it.Title)
		}
	}
	for _, js := range r.Joint.Sections {
		mustContain(t, txt, js.Current.Hash)
	}
	for _, m := range r.Content.Team {
		mustContain(t, txt, m.Name, m.CertificateNumber)
	}
	pages := strings.Count(txt, "\f")
	mustContain(t, txt, fmt.Sprintf("第 1 页 共 %d 页", pages), fmt.Sprintf("第 %d 页 共 %d 页", pages, pages))
	if pages < 2 {
		t.Fatalf("a 40-item record fits on %d page; the test wants a table that breaks", pages)
	}
	// The items table breaks across pages with its header repeated.
	if n := strings.Count(collapse(txt), "序号检查事项检查依据结果说明"); n < 2 {
		t.Errorf("the items table header appears %d times; want it repeated on the page the table breaks onto", n)
	}
	if buf.Len() > 2<<20 {
		t.Errorf("record is %d bytes; want under 2 MB", buf.Len())
	}
}

// TestWriteRecord_MissingGlyph checks that the checker catches a character
// the font cannot draw: a record whose note holds one must fail it.
func TestWriteRecord_MissingGlyph(t *testing.T) {
	r := sampleRecord(t, 2, 1, 0)
	r.Joint.Closes[0].Record.Close.Note = "拒签\U0001F600" // an emoji: the CJK font has no glyph for it
	var buf bytes.Buffer
	if err := pdf.WriteRecord(&buf, r); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-raw", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "拒签"+string(pdf.Missing)) {
		t.Errorf("the character the font lacks is not marked in the PDF:\n%s", out)
	}
	if glyphsMissing(string(out)) == nil {
		t.Fatal("the glyph check passes a PDF with a character the font cannot draw")
	}
}
