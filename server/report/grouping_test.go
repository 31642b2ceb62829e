package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/report"
)

// TestGrouping_DefusesFormulas: a cell that a spreadsheet would read as a
// formula is written with a leading apostrophe, in CSV and in XLSX alike.
func TestGrouping_DefusesFormulas(t *testing.T) {
	rep := &server.GroupingReport{CampaignID: 1, CampaignName: "抽查", Sections: []server.GroupingSection{{
		DepartmentID: 1, DepartmentCode: "culture", DepartmentName: "文化",
		Teams: []server.GroupingTeam{{Number: 1,
			Targets: []server.GroupingTarget{{CreditCode: "91130202MA0000000X", Name: `=HYPERLINK("http://evil.example","x")`, Address: "@SUM(A1)"}},
			Members: []server.TeamMember{{Name: "王五", CertificateNumber: "C-1", Phone: "+8613900000001"}},
		}},
	}}}
	want := map[string]string{
		"企业名称": `'=HYPERLINK("http://evil.example","x")`, "地址": "'@SUM(A1)", "联系电话": "'+8613900000001", "执法人员": "王五",
	}
	check := func(format string, header, row []string) {
		t.Helper()
		for i, h := range header {
			if w, ok := want[strings.TrimPrefix(h, "\ufeff")]; ok && row[i] != w {
				t.Errorf("%s %s: %q, want %q", format, h, row[i], w)
			}
		}
	}

	var buf bytes.Buffer
	if err := report.WriteGroupingCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	check("csv", rows[0], rows[1])

	buf.Reset()
	if err := report.WriteGroupingXLSX(&buf, rep); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, err := f.GetRows("culture")
	if err != nil || len(xrows) != 2 {
		t.Fatalf("%d rows, %v", len(xrows), err)
	}
	check("xlsx", xrows[0], xrows[1])
}
