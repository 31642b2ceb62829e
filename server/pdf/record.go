package pdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Image is an attachment's bytes (PNG or JPEG) with its content type.
type Image struct {
	ContentType string
	Data        []byte
}

// Record is what the joint inspection record of a packet is printed from.
type Record struct {
	Content *syncproto.PacketContent
	Joint   *syncproto.JointRecord
	// Departments names department codes; a code without a name prints as is.
	Departments map[string]string
	// Images holds the attachments the record references, by SHA-256; one
	// missing prints as its hash.
	Images map[string]Image
	// VerifyURL is where a holder of the PDF checks it against the server.
	VerifyURL string

	thumbs map[string]thumb // embeddable images, made once for both passes
}

type thumb struct {
	data []byte
	tp   string
	ok   bool
}

// Labels of results, outcomes and signers as printed.
var (
	resultLabels = map[string]string{
		syncproto.ResultCompliant:     "符合",
		syncproto.ResultNonCompliant:  "不符合",
		syncproto.ResultNotApplicable: "不适用",
		syncproto.ResultNotChecked:    "未检查",
	}
	outcomeLabels = map[string]string{
		syncproto.OutcomeSigned:       "法定代表人（负责人）签字盖章",
		syncproto.OutcomeRefused:      "拒绝签字",
		syncproto.OutcomeAbsent:       "法定代表人不在场，见证人签字",
		syncproto.OutcomeNotLocatable: "通过登记的住所（经营场所）无法联系",
	}
	signerLabels = map[string]string{
		syncproto.SignerRepresentative: "法定代表人（负责人）",
		syncproto.SignerInspector:      "执法人员",
		syncproto.SignerWitness:        "见证人",
	}
)

func label(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// shanghai is the time zone documents print times in.
var shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

func printTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(shanghai).Format("2006-01-02 15:04:05")
}

// WriteRecord writes the joint inspection record (一企一表) of a packet as it
// was sealed: the enterprise, the team and the certificates shown, every
// department section's current version with its answers, notes and photos,
// the close with its signatures and stamp or its note, the device and seal
// hashes, the correction history, the flags, and a verification line.
func WriteRecord(w io.Writer, r *Record) error {
	rc := *r
	r = &rc
	r.thumbs = map[string]thumb{}
	c, jr := r.Content, r.Joint
	return render(w, "联合检查记录表", "联合检查记录表（一企一表） / "+c.Enterprise.Name, func(d *doc) {
		d.part()
		d.title("“双随机、一公开”跨部门联合检查记录表")
		d.para(c.CampaignName)
		d.field("检查期间", c.WindowStart+" 至 "+c.WindowEnd)
		d.field("检查包", jr.PacketID)

		d.heading("一、被检查对象")
		e := c.Enterprise
		d.field("名称", e.Name)
		d.field("统一社会信用代码", e.CreditCode)
		d.field("地址", e.Address)
		d.field("法定代表人", e.LegalRepresentative)
		if e.LicenceNumber != "" {
			d.field("许可证号", e.LicenceNumber)
		}
		if e.Category != "" || e.District != "" {
			d.field("类别 / 区域", strings.Trim(e.Category+" / "+e.District, " /"))
		}

		d.heading("二、检查组及出示执法证件")
		shown := map[int64]bool{}
		for _, js := range jr.Sections {
			if js.Current != nil {
				for _, cs := range js.Current.Section.Certificates {
					shown[cs.InspectorID] = true
				}
			}
		}
		team := &table{cols: []string{"部门", "执法人员", "执法证号", "出示证件"}, widths: []float64{0.3, 0.2, 0.3, 0.2}}
		team.begin(d)
		for _, m := range c.Team {
			team.row(d, r.dept(m.Department), m.Name, m.CertificateNumber, map[bool]string{true: "已出示", false: "未记录"}[shown[m.InspectorID]])
		}
		team.end(d)

		for i, js := range jr.Sections {
			d.heading(fmt.Sprintf("%s、%s检查事项", chineseNumber(i+3), r.dept(js.Department)))
			r.section(d, c, js)
		}

		n := len(jr.Sections) + 3
		d.heading(chineseNumber(n) + "、检查结论及签字")
		if len(jr.Closes) == 0 {
			d.para("尚无检查结论。")
		}
		for i := range jr.Closes {
			r.close(d, c, &jr.Closes[i])
		}

		d.heading(chineseNumber(n+1) + "、更正记录")
		corr := &table{cols: []string{"部门", "版本", "更正原因", "封存时间（设备）", "封存哈希"}, widths: []float64{0.16, 0.08, 0.3, 0.18, 0.28}}
		any := false
		for _, js := range jr.Sections {
			for _, h := range js.History {
				if h.Section.Version <= 1 {
					continue
				}
				if !any {
					corr.begin(d)
					any = true
				}
				corr.row(d, r.dept(js.Department), fmt.Sprintf("第%d版（更正第%d版）", h.Section.Version, h.Section.Replaces),
					h.Section.CorrectionReason, printTime(h.Section.SealedAt), h.Hash)
			}
		}
		if any {
			corr.end(d)
		} else {
			d.para("无。")
		}

		if len(jr.Flags) > 0 {
			d.heading(chineseNumber(n+2) + "、需审核关注的事项")
			for _, f := range jr.Flags {
				d.para("· " + f.Message)
			}
		}

		d.heading("核验")
		d.para("本记录表由检查包的封存记录生成。持有者可凭以下哈希向服务器核对记录表是否与封存一致：")
		for _, js := range jr.Sections {
			if js.Current != nil {
				d.field(r.dept(js.Department)+"部分", fmt.Sprintf("第%d版 %s", js.Current.Section.Version, js.Current.Hash))
			}
		}
		for _, cl := range jr.Closes {
			d.field("检查结论", cl.Hash)
		}
		d.field("核验地址", r.VerifyURL)
	})
}

func (r *Record) dept(code string) string {
	if n := r.Departments[code]; n != "" {
		return n
	}
	return code
}

func (r *Record) memberName(c *syncproto.PacketContent, id int64) string {
	for _, m := range c.Team {
		if m.InspectorID == id {
			return m.Name
		}
	}
	return fmt.Sprintf("执法人员%d", id)
}

// section writes one department's current sealed version.
func (r *Record) section(d *doc, c *syncproto.PacketContent, js syncproto.JointSection) {
	var items []syncproto.PacketItem
	for _, s := range c.Sections {
		if s.Department == js.Department {
			items = s.Items
		}
	}
	if js.Current == nil {
		d.para("该部门检查部分尚未封存。")
		t := &table{cols: []string{"序号", "检查事项", "结果"}, widths: []float64{0.08, 0.72, 0.2}}
		t.begin(d)
		for i, it := range items {
			t.row(d, fmt.Sprint(i+1), it.Title, "")
		}
		t.end(d)
		return
	}
	sec := js.Current.Section
	answers := map[string]syncproto.AnswerMutation{}
	for _, a := range sec.Answers {
		answers[a.ItemCode] = a
	}
	d.field("封存", fmt.Sprintf("第%d版，%s 封存于设备 %d（%s），服务器收到于 %s",
		sec.Version, r.memberName(c, sec.InspectorID), sec.DeviceID, printTime(sec.SealedAt), printTime(js.Current.ReceivedAt)))
	d.field("封存哈希", js.Current.Hash)
	t := &table{cols: []string{"序号", "检查事项", "检查依据", "结果", "说明"}, widths: []float64{0.07, 0.33, 0.22, 0.12, 0.26}}
	t.begin(d)
	var photos []syncproto.AttachmentRef
	for i, it := range items {
		a, ok := answers[it.Code]
		res := ""
		if ok {
			res = a.Value
			if a.Result != "" {
				res = label(resultLabels, a.Result)
			}
			if len(a.Photos) > 0 {
				res += fmt.Sprintf("\n照片%d张", len(a.Photos))
			}
			photos = append(photos, a.Photos...)
		}
		t.row(d, fmt.Sprint(i+1), it.Title, it.LegalBasis, res, a.Note)
	}
	t.end(d)
	if len(photos) > 0 {
		d.para("现场照片：")
		r.thumbnails(d, photos, 40, 30)
	}
}

// close writes one close: its outcome, note, signatures and stamp.
func (r *Record) close(d *doc, c *syncproto.PacketContent, cl *syncproto.SealedClose) {
	rec := cl.Record
	d.field("结论", label(outcomeLabels, rec.Close.Outcome))
	if rec.Close.Note != "" {
		d.field("情况记录", rec.Close.Note)
	}
	d.field("记录", fmt.Sprintf("%s 于设备 %d（%s），服务器收到于 %s",
		r.memberName(c, rec.InspectorID), rec.DeviceID, printTime(rec.ClosedAt), printTime(cl.ReceivedAt)))
	var covers []string
	for _, ref := range rec.Covers {
		covers = append(covers, fmt.Sprintf("%s第%d版", r.dept(ref.Department), ref.Version))
	}
	d.field("覆盖部分", strings.Join(covers, "、"))
	d.field("结论哈希", cl.Hash)
	for _, s := range rec.Close.Signatures {
		d.ensure(28)
		d.field(label(signerLabels, s.Role), s.Name)
		r.thumbnails(d, []syncproto.AttachmentRef{s.Image}, 50, 20)
	}
	if rec.Close.Stamp != nil {
		d.ensure(38)
		d.field("印章", "")
		r.thumbnails(d, []syncproto.AttachmentRef{*rec.Close.Stamp}, 30, 30)
	}
	d.f.Ln(2)
}

// thumbnails draws images in a row of boxes of w×h mm, wrapping, each
// scaled to fit its box; an image the record does not hold prints its hash.
func (r *Record) thumbnails(d *doc, refs []syncproto.AttachmentRef, w, h float64) {
	const gap = 3.0
	x := pageMargin
	d.ensure(h + 2)
	y := d.f.GetY()
	for _, ref := range refs {
		if x+w > pageMargin+d.width() {
			x = pageMargin
			y += h + gap
			if y+h > d.bottom() {
				d.f.AddPage()
				y = d.f.GetY()
			}
		}
		d.f.Rect(x, y, w, h, "D")
		if !r.drawImage(d, ref.SHA256, x, y, w, h) {
			d.size(6)
			for i, l := range d.wrap("附件未取得 "+ref.SHA256, w-2) {
				d.text(x+1, y+1+3*float64(i), w-2, 3, l, "L")
			}
			d.body()
		}
		x += w + gap
	}
	d.f.SetXY(pageMargin, y+h+gap)
}

func (r *Record) drawImage(d *doc, sha string, x, y, w, h float64) bool {
	img, ok := r.Images[sha]
	if !ok {
		return false
	}
	// The bytes decide, not the type the device declared.
	th, done := r.thumbs[sha]
	if !done {
		th.data, th.tp, th.ok = embeddable(img.Data)
		r.thumbs[sha] = th
	}
	if !th.ok {
		return false
	}
	data, tp := th.data, th.tp
	info := d.f.GetImageInfo(sha)
	if info == nil {
		info = d.f.RegisterImageOptionsReader(sha, fpdf.ImageOptions{ImageType: tp}, bytes.NewReader(data))
		if d.f.Err() {
			// A broken image must not spoil the document: print its hash.
			d.f.ClearError()
			return false
		}
	}
	iw, ih := info.Width(), info.Height()
	if iw <= 0 || ih <= 0 {
		return false
	}
	s := min((w-2)/iw, (h-2)/ih)
	dw, dh := iw*s, ih*s
	d.f.ImageOptions(sha, x+(w-dw)/2, y+(h-dh)/2, dw, dh, false, fpdf.ImageOptions{ImageType: tp}, 0, "")
	return true
}

// chineseNumber writes 1–99 in Chinese numerals, for section headings.
func chineseNumber(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return digits[n]
	case n < 20:
		return "十" + strings.TrimPrefix(digits[n%10], "零")
	default:
		s := digits[n/10] + "十"
		if n%10 != 0 {
			s += digits[n%10]
		}
		return s
	}
}
