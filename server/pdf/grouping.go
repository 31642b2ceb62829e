package pdf

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spotcheck/spotcheck/server"
)

// WriteGrouping writes a campaign's grouping report (分组情况报告): per
// department, each team's targets and that department's inspectors with
// their certificate numbers and phones — for filing with the lead
// department, never for the public.
func WriteGrouping(w io.Writer, rep *server.GroupingReport) error {
	return render(w, "分组情况报告", "检查分组情况报告 / "+rep.CampaignName, func(d *doc) {
		d.part()
		d.title("“双随机、一公开”跨部门联合抽查分组情况报告")
		d.para(rep.CampaignName)
		d.field("检查期间", rep.WindowStart.String()+" 至 "+rep.WindowEnd.String())
		d.field("说明", "本报告含执法人员姓名及联系电话，仅供报送牵头部门，不得公开。")
		if len(rep.Sections) == 0 {
			d.para("尚无分组。")
		}
		for i, sec := range rep.Sections {
			d.heading(fmt.Sprintf("%s、%s", chineseNumber(i+1), sec.DepartmentName))
			t := &table{cols: []string{"组号", "统一社会信用代码", "企业名称", "地址", "执法人员", "执法证号", "联系电话"},
				widths: []float64{0.05, 0.21, 0.17, 0.16, 0.1, 0.17, 0.14}}
			t.begin(d)
			for _, tm := range sec.Teams {
				var names, certs, phones []string
				for _, m := range tm.Members {
					names, certs, phones = append(names, m.Name), append(certs, m.CertificateNumber), append(phones, m.Phone)
				}
				people := []string{strings.Join(names, "\n"), strings.Join(certs, "\n"), strings.Join(phones, "\n")}
				if len(tm.Targets) == 0 {
					t.row(d, append([]string{strconv.Itoa(tm.Number), "", "", ""}, people...)...)
				}
				for _, tg := range tm.Targets {
					t.row(d, append([]string{strconv.Itoa(tm.Number), tg.CreditCode, tg.Name, tg.Address}, people...)...)
				}
			}
			t.end(d)
		}
	})
}
