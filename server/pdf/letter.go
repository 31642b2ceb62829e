package pdf

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spotcheck/spotcheck/server"
)

// Letters is what the notification letters (告知书) of a campaign are
// printed from: the campaign, its departments, and one packet per target.
type Letters struct {
	Campaign *server.Campaign
	// Departments names department codes and ids.
	Departments []*server.Department
	Packets     []*server.Packet // one per target, in the order printed
	// Materials are what each department asks the targets to prepare, as
	// the committed manifest holds them; none (a manifest committed before
	// materials were part of it) prints the check items instead.
	Materials []server.ManifestMaterials
	// Contact is the lead department's office line; empty prints a line to
	// fill in by hand.
	Contact server.LeadContact
	// ManifestURL is where the public reads the committed manifest.
	ManifestURL string
}

// LoadLetters reads what a campaign's notification letters are printed
// from; with target (a credit code) only that target's: the materials come
// from the committed manifest, the contact line from the campaign.
// ENOTFOUND for a campaign the caller may not read or a target not in it;
// ECONFLICT before the packets are issued (the teams, and so the
// certificates, are not known).
func (s *Sources) LoadLetters(ctx context.Context, campaignID int64, target string) (*Letters, error) {
	c, err := s.Campaigns.FindCampaignByID(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	ps, err := s.Campaigns.FindPackets(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, server.Errorf(server.ECONFLICT, "该抽查尚未生成检查包，无法出具告知书 (the campaign's packets are not issued yet, so there are no letters).")
	}
	if target != "" {
		i := slices.IndexFunc(ps, func(p *server.Packet) bool { return p.CreditCode == target })
		if i < 0 {
			return nil, server.Errorf(server.ENOTFOUND, "抽查对象%s不在该抽查中 (target %s is not in this campaign).", target, target)
		}
		ps = ps[i : i+1]
	}
	l := &Letters{Campaign: c, Packets: ps, Contact: c.Contact,
		ManifestURL: fmt.Sprintf("%s/public/campaigns/%d/manifest", strings.TrimRight(s.PublicURL, "/"), c.ID)}
	if s.Departments != nil {
		if ds, err := s.Departments.FindDepartments(ctx); err == nil {
			l.Departments = ds
		}
	}
	if s.Letters != nil {
		if l.Materials, err = s.Letters.FindManifestMaterials(ctx, campaignID); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Letters) deptByID(id int64) string {
	for _, d := range l.Departments {
		if d.ID == id {
			return d.Name
		}
	}
	return fmt.Sprintf("部门%d", id)
}

func (l *Letters) deptByCode(code string) string {
	for _, d := range l.Departments {
		if d.Code == code {
			return d.Name
		}
	}
	return code
}

// WriteLetters writes one notification letter (《“双随机、一公开”跨部门联合
// 抽查告知书》) per packet, each starting on a new page, into one PDF: the
// campaign, the checking departments and the legal basis, the window, the
// materials to prepare, the team's certificate numbers (never phones), the
// lead department's contact line and a verification line.
func WriteLetters(w io.Writer, l *Letters) error {
	c := l.Campaign
	lead := l.deptByID(c.LeadDepartmentID)
	var depts []string
	for _, id := range c.DepartmentIDs {
		if id != c.LeadDepartmentID {
			depts = append(depts, l.deptByID(id))
		}
	}
	return render(w, "联合抽查告知书", "“双随机、一公开”跨部门联合抽查告知书 / "+c.Name, func(d *doc) {
		for _, p := range l.Packets {
			d.part()
			d.title("“双随机、一公开”跨部门联合抽查告知书")
			e := p.Content.Enterprise
			d.para(e.Name + "：")
			d.field("统一社会信用代码", e.CreditCode)
			d.field("地址", e.Address)
			d.f.Ln(2)
			who := lead
			if len(depts) > 0 {
				who = lead + "牵头，会同" + strings.Join(depts, "、")
			}
			d.para(fmt.Sprintf("根据“双随机、一公开”监管工作要求，%s开展“%s”。经随机抽取，你单位被确定为本次联合抽查对象。检查组将于%s至%s期间到你单位现场检查，请予以配合。",
				who, c.Name, c.WindowStart, c.WindowEnd))

			d.heading("一、检查部门、事项及依据")
			t := &table{cols: []string{"检查部门", "检查事项", "检查依据"}, widths: []float64{0.22, 0.43, 0.35}}
			t.begin(d)
			for _, s := range p.Content.Sections {
				for _, it := range s.Items {
					t.row(d, l.deptByCode(s.Department), it.Title, it.LegalBasis)
				}
			}
			t.end(d)

			d.heading("二、请准备的材料")
			l.writeMaterials(d, p)

			d.heading("三、检查人员")
			d.para("执法人员将主动出示执法证件，你单位可核对：")
			team := &table{cols: []string{"部门", "执法人员", "执法证号"}, widths: []float64{0.35, 0.25, 0.4}}
			team.begin(d)
			for _, m := range p.Content.Team {
				team.row(d, l.deptByCode(m.Department), m.Name, m.CertificateNumber)
			}
			team.end(d)

			d.heading("四、联系方式")
			contact := l.Contact.String()
			if contact == "" {
				contact = "联系部门：____________  联系电话：____________"
			}
			d.field(lead, contact)

			d.heading("五、核验")
			d.para("本次抽查的抽取方案已事先公开，任何人可据其重新计算抽查结果。")
			d.field("抽取方案", l.ManifestURL)
			d.field("方案摘要", "SHA-256 "+c.ManifestDigest)
			d.f.Ln(6)
			d.text(pageMargin, d.f.GetY(), d.width(), lineH, lead+"（盖章）", "R")
			d.f.Ln(lineH)
			d.text(pageMargin, d.f.GetY(), d.width(), lineH, "年    月    日", "R")
			d.f.Ln(lineH)
		}
	})
}

// writeMaterials prints what each department asks the target to prepare,
// as committed in the manifest, department by department in the order of
// the packet's sections. Without committed materials it falls back to the
// check items themselves.
func (l *Letters) writeMaterials(d *doc, p *server.Packet) {
	if len(l.Materials) == 0 {
		d.para("请在检查时提供与下列检查事项有关的证照、台账和记录：")
		n := 0
		for _, s := range p.Content.Sections {
			for _, it := range s.Items {
				n++
				d.para(fmt.Sprintf("%d. %s", n, it.Title))
			}
		}
		return
	}
	d.para("请在检查时备齐下列材料（原件，或加盖公章的复印件）：")
	for _, s := range p.Content.Sections {
		i := slices.IndexFunc(l.Materials, func(m server.ManifestMaterials) bool { return m.DepartmentCode == s.Department })
		if i < 0 {
			d.para(l.deptByCode(s.Department) + "：无需另备材料。")
			continue
		}
		d.para(l.deptByCode(s.Department) + "：")
		for n, it := range l.Materials[i].Items {
			d.para(fmt.Sprintf("    %d. %s", n+1, it))
		}
	}
}
