package report

import (
	"encoding/csv"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
)

// PublicationHeader is the header of the export for the national enterprise
// credit publicity system (docs/publication.md).
var PublicationHeader = []string{"统一社会信用代码", "企业名称", "抽查类型", "检查实施机关", "检查完成日期", "检查结果"}

func publicationRows(e *server.PublicationExport) [][]string {
	rows := make([][]string, 0, len(e.Rows))
	for _, r := range e.Rows {
		rows = append(rows, []string{r.CreditCode, r.EnterpriseName, e.InspectionType, r.Authority, r.InspectionDate, r.ResultTitle})
	}
	return rows
}

// WritePublicationCSV writes the export as CSV (UTF-8 with a BOM, CRLF),
// every cell defused against formulas.
func WritePublicationCSV(w io.Writer, e *server.PublicationExport) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	for _, row := range append([][]string{PublicationHeader}, publicationRows(e)...) {
		for i, cell := range row {
			row[i] = defuse(cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WritePublicationXLSX writes the export as a one-sheet workbook, every cell
// text (never a formula) and defused as in the CSV.
func WritePublicationXLSX(w io.Writer, e *server.PublicationExport) error {
	f := excelize.NewFile()
	defer f.Close()
	name := f.GetSheetName(0)
	for r, row := range append([][]string{PublicationHeader}, publicationRows(e)...) {
		for c, v := range row {
			cell, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(name, cell, defuse(v)); err != nil {
				return err
			}
		}
	}
	if err := f.SetColWidth(name, "A", "F", 24); err != nil {
		return err
	}
	_, err := f.WriteTo(w)
	return err
}

// Media types of the files the server reads and writes as CSV and XLSX.
const (
	MediaTypeCSV  = "text/csv; charset=utf-8"
	MediaTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// PublicationFormat returns the publication export format a request names:
// server.ExportCSV (also when it names none) or server.ExportXLSX; EINVALID
// for any other.
func PublicationFormat(name string) (string, error) {
	switch name {
	case "", server.ExportCSV:
		return server.ExportCSV, nil
	case server.ExportXLSX:
		return server.ExportXLSX, nil
	}
	return "", errPublicationFormat()
}

// PublicationMediaType is the Content-Type of a publication export in format.
func PublicationMediaType(format string) string {
	if format == server.ExportXLSX {
		return MediaTypeXLSX
	}
	return MediaTypeCSV
}

// WritePublication writes the export in format (server.ExportCSV or
// server.ExportXLSX); EINVALID for any other.
func WritePublication(w io.Writer, format string, e *server.PublicationExport) error {
	switch format {
	case server.ExportCSV:
		return WritePublicationCSV(w, e)
	case server.ExportXLSX:
		return WritePublicationXLSX(w, e)
	}
	return errPublicationFormat()
}

func errPublicationFormat() error {
	return server.Errorf(server.EINVALID, "导出格式须为csv或xlsx (format must be csv or xlsx).")
}
