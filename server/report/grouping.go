// Package report writes the people-facing reports of a campaign as CSV (with
// a UTF-8 byte-order mark, so Excel reads the Chinese text correctly) and
// XLSX. Output is deterministic: the same report always gives the same bytes
// of CSV, so a filed report can be identified by its SHA-256.
package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
)

// bom is the UTF-8 byte-order mark Excel needs to read a CSV file as UTF-8.
const bom = "\ufeff"

// GroupingHeader is the header row of a grouping report.
var GroupingHeader = []string{"部门", "组号", "统一社会信用代码", "企业名称", "地址", "执法人员", "执法证号", "联系电话"}

// memberSep joins a team's inspectors within one cell.
const memberSep = "、"

// groupingRows returns the rows of one section: one per target of each
// team, with the department's inspectors of the team in the last three
// columns, in the same order. A team without targets still gets a row.
func groupingRows(sec server.GroupingSection) [][]string {
	var rows [][]string
	for _, t := range sec.Teams {
		names := make([]string, len(t.Members))
		certs := make([]string, len(t.Members))
		phones := make([]string, len(t.Members))
		for i, m := range t.Members {
			names[i], certs[i], phones[i] = m.Name, m.CertificateNumber, m.Phone
		}
		tail := []string{strings.Join(names, memberSep), strings.Join(certs, memberSep), strings.Join(phones, memberSep)}
		head := []string{sec.DepartmentName, strconv.Itoa(t.Number)}
		if len(t.Targets) == 0 {
			rows = append(rows, append(append(head, "", "", ""), tail...))
		}
		for _, tg := range t.Targets {
			row := append([]string{}, head...)
			row = append(row, tg.CreditCode, tg.Name, tg.Address)
			rows = append(rows, append(row, tail...))
		}
	}
	return rows
}

// WriteGroupingCSV writes every section of rep as one CSV table.
func WriteGroupingCSV(w io.Writer, rep *server.GroupingReport) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // what Excel writes and expects
	if err := cw.Write(GroupingHeader); err != nil {
		return err
	}
	for _, sec := range rep.Sections {
		for _, row := range groupingRows(sec) {
			for i, cell := range row {
				row[i] = defuse(cell)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// GroupingCSVSHA256 returns the SHA-256, in hex, of rep's CSV: what a filing records.
func GroupingCSVSHA256(rep *server.GroupingReport) (string, error) {
	var buf bytes.Buffer
	if err := WriteGroupingCSV(&buf, rep); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// defuse keeps a spreadsheet from reading a cell as a formula: enterprise
// names and addresses come from imports and could start with "=".
func defuse(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// WriteGroupingXLSX writes rep as a workbook with one sheet per department,
// named by department code. Cells are written as text, never as formulas,
// and defused as in the CSV, for whoever saves the sheet as CSV.
func WriteGroupingXLSX(w io.Writer, rep *server.GroupingReport) error {
	f := excelize.NewFile()
	defer f.Close()
	first := f.GetSheetName(0)
	for i, sec := range rep.Sections {
		name := sheetName(sec, i)
		if i == 0 {
			if err := f.SetSheetName(first, name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		rows := append([][]string{GroupingHeader}, groupingRows(sec)...)
		for r, row := range rows {
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
		if err := f.SetColWidth(name, "A", "H", 20); err != nil {
			return err
		}
	}
	_, err := f.WriteTo(w)
	return err
}

// sheetName returns a valid, unique sheet name for a section: its department
// code (at most 31 characters of [a-z0-9_-]) or, failing that, its position.
func sheetName(sec server.GroupingSection, i int) string {
	if sec.DepartmentCode != "" && len(sec.DepartmentCode) <= 31 {
		return sec.DepartmentCode
	}
	return fmt.Sprintf("sheet%d", i+1)
}
