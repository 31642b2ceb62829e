package pdf_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/pdf"
	"github.com/spotcheck/spotcheck/syncproto"
)

// phonePhoto is a 2000×1500 JPEG at quality 90 with noise, as a phone takes
// it: over a megabyte, far more than a thumbnail needs.
func phonePhoto(t testing.TB, seed int) pdf.Image {
	t.Helper()
	const w, h = 2000, 1500
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(r.IntN(48))
			img.SetRGBA(x, y, color.RGBA{uint8(x*255/w)/2 + n, uint8(y*255/h)/2 + n, uint8(seed*30) + n, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return pdf.Image{ContentType: "image/jpeg", Data: buf.Bytes()}
}

// bigRecord is a 20-item (10 per department), 4-inspector record with 10
// full-size phone photos and two signatures.
func bigRecord(t testing.TB) *pdf.Record {
	photos := map[int]pdf.Image{}
	return sampleRecordWith(t, 10, 2, 10, func(i int) pdf.Image {
		if i >= 90 { // signatures: small PNGs
			return testPNG(t, 400, 160, color.Black)
		}
		if _, ok := photos[i]; !ok {
			photos[i] = phonePhoto(t, i)
		}
		return photos[i]
	})
}

// TestWriteRecord_Size checks that a 20-item, 4-inspector record with 10
// full-size photos is under 2 MB, every photo drawn.
func TestWriteRecord_Size(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes ten 3-megapixel photos")
	}
	r := bigRecord(t)
	in := 0
	for _, img := range r.Images {
		in += len(img.Data)
	}
	var buf bytes.Buffer
	if err := pdf.WriteRecord(&buf, r); err != nil {
		t.Fatal(err)
	}
	if buf.Len() >= 2<<20 {
		t.Fatalf("record of %d bytes of attachments is %d bytes; want under 2 MB", in, buf.Len())
	}
	if n := bytes.Count(buf.Bytes(), []byte("/Subtype /Image")); n != len(r.Images) {
		t.Fatalf("%d images in the PDF, want %d", n, len(r.Images))
	}
	txt := pdfText(t, buf.Bytes())
	mustContain(t, txt, r.Content.Enterprise.Name)
	t.Logf("attachments %d bytes → record %d bytes", in, buf.Len())
}

func BenchmarkWriteRecord(b *testing.B) {
	r := bigRecord(b)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := pdf.WriteRecord(&buf, r); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/pdf")
}

// letters returns a campaign of n targets, each with 20 items, 4
// inspectors and 9 materials, and the lead's contact line.
func letters(n int) *pdf.Letters {
	c := &server.Campaign{ID: 7, Name: "2026年互联网上网服务营业场所跨部门联合抽查", LeadDepartmentID: 1, DepartmentIDs: []int64{1, 2},
		WindowStart: server.Date{Year: 2026, Month: 5, Day: 11}, WindowEnd: server.Date{Year: 2026, Month: 5, Day: 16},
		ManifestDigest: "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"}
	depts := []*server.Department{{ID: 1, Code: "culture", Name: "市文化广电旅游局"}, {ID: 2, Code: "market", Name: "市市场监督管理局"}}
	l := &pdf.Letters{Campaign: c, Departments: depts, ManifestURL: "https://spotcheck.example.gov.cn/public/campaigns/7/manifest",
		Contact: server.LeadContact{Office: "市文化市场综合执法支队办公室", Phone: "0592-5550123"},
		Materials: []server.ManifestMaterials{
			{DepartmentCode: "culture", Items: []string{"网络文化经营许可证（正本）", "上网消费者登记记录（近三个月）", "经营管理技术措施运行记录", "未成年人禁入标志设置及巡查记录", "从业人员名册"}},
			{DepartmentCode: "market", Items: []string{"营业执照（正本）", "收费标准及明码标价公示牌", "年度报告公示回执", "食品经营许可证（如经营食品）"}},
		}}
	for i := 0; i < n; i++ {
		p := &server.Packet{ID: fmt.Sprintf("%032x", i), CampaignID: 7, CreditCode: fmt.Sprintf("91350200MA%08dX", i)}
		p.Content = syncproto.PacketContent{CampaignName: c.Name, Enterprise: syncproto.EnterpriseSnapshot{
			CreditCode: p.CreditCode, Name: fmt.Sprintf("厦门市思明区星河网络会所%04d号店", i), Address: fmt.Sprintf("厦门市思明区湖滨南路%d号", i+1)}}
		for _, d := range depts {
			sec := syncproto.PacketSection{Department: d.Code}
			for k := 0; k < 10; k++ {
				sec.Items = append(sec.Items, syncproto.PacketItem{Code: fmt.Sprintf("%s-%d", d.Code, k), Title: fmt.Sprintf("检查事项%d：是否按规定核对、登记上网消费者的有效身份证件", k+1),
					LegalBasis: "《互联网上网服务营业场所管理条例》第二十三条"})
			}
			p.Content.Sections = append(p.Content.Sections, sec)
			for m := 0; m < 2; m++ {
				p.Content.Team = append(p.Content.Team, syncproto.PacketMember{Department: d.Code, Name: fmt.Sprintf("执法员%d", m), CertificateNumber: fmt.Sprintf("35020%s%05d", d.Code, i*2+m)})
			}
		}
		l.Packets = append(l.Packets, p)
	}
	return l
}

// TestWriteLetters_Size checks that one target's letter with 20 items and
// 4 inspectors is under 2 MB and lists them all.
func TestWriteLetters_Size(t *testing.T) {
	l := letters(1)
	var buf bytes.Buffer
	if err := pdf.WriteLetters(&buf, l); err != nil {
		t.Fatal(err)
	}
	if buf.Len() >= 2<<20 {
		t.Fatalf("letter is %d bytes; want under 2 MB", buf.Len())
	}
	txt := pdfText(t, buf.Bytes())
	for _, s := range l.Packets[0].Content.Sections {
		for _, it := range s.Items {
			mustContain(t, txt, it.Title)
		}
	}
	for _, m := range l.Packets[0].Content.Team {
		mustContain(t, txt, m.CertificateNumber)
	}
}

// BenchmarkWriteLetters1000 writes the merged letters of 1,000 targets.
func BenchmarkWriteLetters1000(b *testing.B) {
	l := letters(1000)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := pdf.WriteLetters(&buf, l); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/pdf")
}

// TestWriteLetters_Pages checks that each letter of a merged PDF numbers
// its own pages: a target receives its letter alone.
func TestWriteLetters_Pages(t *testing.T) {
	var buf bytes.Buffer
	if err := pdf.WriteLetters(&buf, letters(3)); err != nil {
		t.Fatal(err)
	}
	txt := pdfText(t, buf.Bytes())
	pages := strings.Count(txt, "\f")
	if pages%3 != 0 || pages < 3 {
		t.Fatalf("%d pages for 3 letters of the same length", pages)
	}
	per := pages / 3
	if n := strings.Count(collapse(txt), collapse(fmt.Sprintf("第 1 页 共 %d 页", per))); n != 3 {
		t.Fatalf("\"第 1 页 共 %d 页\" appears %d times; want once per letter", per, n)
	}
	if strings.Contains(collapse(txt), collapse(fmt.Sprintf("第 %d 页", per+1))) {
		t.Fatal("page numbers run on across letters")
	}
}

// TestWriteLetters_Materials checks that a letter lists each department's
// materials under the department's name, in order, and the lead's contact
// line; without committed materials it lists the check items instead, and
// without a contact a line to fill in by hand.
func TestWriteLetters_Materials(t *testing.T) {
	l := letters(1)
	var buf bytes.Buffer
	if err := pdf.WriteLetters(&buf, l); err != nil {
		t.Fatal(err)
	}
	txt := collapse(pdfText(t, buf.Bytes()))
	mustContain(t, txt, "请准备的材料", "市文化广电旅游局：1.网络文化经营许可证（正本）2.上网消费者登记记录（近三个月）3.经营管理技术措施运行记录",
		"市市场监督管理局：1.营业执照（正本）2.收费标准及明码标价公示牌", "4.食品经营许可证（如经营食品）",
		"市文化市场综合执法支队办公室联系电话：0592-5550123")
	if strings.Contains(txt, "请在检查时提供与下列检查事项有关的证照") || strings.Contains(txt, "____________") {
		t.Fatal("a letter with materials and a contact prints the fallbacks")
	}

	l.Materials, l.Contact = nil, server.LeadContact{}
	buf.Reset()
	if err := pdf.WriteLetters(&buf, l); err != nil {
		t.Fatal(err)
	}
	txt = collapse(pdfText(t, buf.Bytes()))
	mustContain(t, txt, "请在检查时提供与下列检查事项有关的证照、台账和记录", "20.检查事项10", "联系部门：____________联系电话：____________")

	// A department that asks for nothing says so.
	l.Materials = []server.ManifestMaterials{{DepartmentCode: "market", Items: []string{"营业执照（正本）"}}}
	buf.Reset()
	if err := pdf.WriteLetters(&buf, l); err != nil {
		t.Fatal(err)
	}
	mustContain(t, collapse(pdfText(t, buf.Bytes())), "市文化广电旅游局：无需另备材料。", "市市场监督管理局：1.营业执照（正本）")
}
