package report_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/report"
)

// TestPublication_Formats: the export's header and rows in CSV and XLSX
// alike, a name a spreadsheet would read as a formula defused, and no
// format but csv and xlsx.
func TestPublication_Formats(t *testing.T) {
	e := &server.PublicationExport{CampaignID: 1, InspectionType: "双随机抽查", Rows: []server.PublicResult{{
		CreditCode: "91130202MA0000000X", EnterpriseName: `=HYPERLINK("http://evil.example","x")`, Authority: "市文化广电旅游局",
		InspectionDate: "2026-11-02", ResultCode: server.ResultCodeNoProblem, ResultTitle: "未发现问题",
	}}}
	want := [][]string{report.PublicationHeader,
		{"91130202MA0000000X", `'=HYPERLINK("http://evil.example","x")`, "双随机抽查", "市文化广电旅游局", "2026-11-02", "未发现问题"}}
	var buf bytes.Buffer
	if err := report.WritePublication(&buf, server.ExportCSV, e); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil || !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("csv: %q %v", rows, err)
	}
	buf.Reset()
	if err := report.WritePublication(&buf, server.ExportXLSX, e); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rows, err := f.GetRows(f.GetSheetName(0)); err != nil || !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("xlsx: %q %v", rows, err)
	}
	if err := report.WritePublication(&buf, "pdf", e); server.ErrorCode(err) != server.EINVALID {
		t.Fatalf("pdf: %v", err)
	}
}

// A request names csv (or nothing) or xlsx; anything else is EINVALID, and
// each format has its media type.
func TestPublicationFormat(t *testing.T) {
	for name, want := range map[string]string{"": server.ExportCSV, "csv": server.ExportCSV, "xlsx": server.ExportXLSX} {
		got, err := report.PublicationFormat(name)
		if err != nil || got != want {
			t.Errorf("PublicationFormat(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"pdf", "CSV", "xls", " csv"} {
		if _, err := report.PublicationFormat(name); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("PublicationFormat(%q): %v, want EINVALID", name, err)
		}
	}
	if got := report.PublicationMediaType(server.ExportXLSX); got != report.MediaTypeXLSX {
		t.Errorf("xlsx media type %q", got)
	}
	if got := report.PublicationMediaType(server.ExportCSV); got != report.MediaTypeCSV {
		t.Errorf("csv media type %q", got)
	}
}
