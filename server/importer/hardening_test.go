package importer_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

func findEnterprise(t *testing.T, db *store.DB, code string) *server.Enterprise {
	t.Helper()
	es, _, err := store.NewEnterpriseService(db).FindEnterprises(as(root), server.EnterpriseFilter{CreditCode: &code})
	if err != nil || len(es) != 1 {
		t.Fatalf("find %s: %d found, %v", code, len(es), err)
	}
	return es[0]
}

func countEnterprises(t *testing.T, db *store.DB) int {
	t.Helper()
	_, n, err := store.NewEnterpriseService(db).FindEnterprises(as(root), server.EnterpriseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func findInspector(t *testing.T, db *store.DB, cert string) *server.Inspector {
	t.Helper()
	ins, _, err := store.NewInspectorService(db).FindInspectors(as(root), server.InspectorFilter{CertificateNumber: &cert})
	if err != nil || len(ins) != 1 {
		t.Fatalf("find %s: %d found, %v", cert, len(ins), err)
	}
	return ins[0]
}

// TestImportEnterprises_KeepsWhatTheFileLacks: a column the file does not
// have, or a blank cell, leaves the stored value alone; only [清空] or
// [clear] erases. New rows still get the defaults.
func TestImportEnterprises_KeepsWhatTheFileLacks(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		opt := server.ImportOptions{Format: server.ImportCSV}
		c := importtest.CreditCode
		full := csvOf(
			"credit_code,name,category,district,address,legal_representative,licence_number,status,risk_class,latitude,longitude",
			c(1)+",星空网吧,internet_cafe,路南区,新华道1号,张三,L1,suspended,B,39.63,118.18",
		)
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(full), opt)
		checkReport(t, rep, err, counts{rows: 1, inserted: 1})
		want := *findEnterprise(t, db, c(1))
		same := func(what string) {
			t.Helper()
			got := findEnterprise(t, db, c(1))
			if got.Address != want.Address || got.LegalRepresentative != want.LegalRepresentative ||
				got.LicenceNumber != want.LicenceNumber || got.Status != want.Status || got.RiskClass != want.RiskClass ||
				got.Latitude == nil || *got.Latitude != *want.Latitude || *got.Longitude != *want.Longitude {
				t.Fatalf("%s changed the stored enterprise: %+v, want %+v", what, got, want)
			}
		}

		// Only the four required columns.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf(
			"credit_code,name,category,district", c(1)+",星空网吧,internet_cafe,路南区", c(2)+",银河网咖,internet_cafe,路北区")), opt)
		checkReport(t, rep, err, counts{rows: 2, inserted: 1, unchanged: 1})
		same("a file with the required columns only")
		if e := findEnterprise(t, db, c(2)); e.Status != server.EnterpriseActive || e.Address != "" || e.Latitude != nil {
			t.Fatalf("new row without defaults: %+v", e)
		}

		// Every column, optional cells blank; the name changes.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf(
			"credit_code,name,category,district,address,legal_representative,licence_number,status,risk_class,latitude,longitude",
			c(1)+",星空网吧（新）,internet_cafe,路南区,,,,,,,")), opt)
		checkReport(t, rep, err, counts{rows: 1, updated: 1})
		same("blank cells")
		if got := findEnterprise(t, db, c(1)); got.Name != "星空网吧（新）" {
			t.Fatalf("name %q", got.Name)
		}

		// The markers erase; coordinates go together.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf(
			"credit_code,name,category,district,address,legal_representative,licence_number,risk_class,latitude,longitude",
			c(1)+",星空网吧（新）,internet_cafe,路南区,[清空],[CLEAR],,[clear],[清空],")), opt)
		checkReport(t, rep, err, counts{rows: 1, updated: 1})
		got := findEnterprise(t, db, c(1))
		if got.Address != "" || got.LegalRepresentative != "" || got.RiskClass != "" || got.Latitude != nil || got.Longitude != nil {
			t.Fatalf("markers did not erase: %+v", got)
		}
		if got.LicenceNumber != "L1" || got.Status != server.EnterpriseSuspended {
			t.Fatalf("blank cells erased: %+v", got)
		}

		// A required field or the status cannot be erased.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf(
			"credit_code,name,category,district,status,latitude,longitude",
			c(1)+",[清空],internet_cafe,路南区,,,",
			c(2)+",银河网咖,internet_cafe,路北区,[clear],,",
			c(3)+",坐标,internet_cafe,路北区,,[clear],118.1",
		)), opt)
		checkReport(t, rep, err, counts{rows: 3, rejected: 3})
		checkErrors(t, rep, "2 name missing_field", "3 status invalid_status", "4 latitude invalid_coordinates")
	})
}

// TestImportInspectors_KeepsWhatTheFileLacks: a roster without a status
// column leaves an inspector on leave (not drawable), and keeps phones and
// domains; blank cells do too.
func TestImportInspectors_KeepsWhatTheFileLacks(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		opt := server.ImportOptions{Format: server.ImportCSV}
		rep, err := f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until,domains,phone,status",
			"culture,李四,C-0001,2024-01-01,2028-12-31,文化市场;网络文化,13900000001,休假")), opt)
		checkReport(t, rep, err, counts{rows: 1, inserted: 1})
		check := func(what, phone string, domains int, status server.InspectorStatus) {
			t.Helper()
			in := findInspector(t, db, "C-0001")
			if in.Phone != phone || len(in.Domains) != domains || in.Status != status {
				t.Fatalf("%s: %+v", what, in)
			}
		}
		check("first import", "13900000001", 2, server.InspectorOnLeave)

		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until",
			"culture,李四,C-0001,2024-01-01,2028-12-31",
			"culture,王五,C-0002,2024-01-01,2028-12-31")), opt)
		checkReport(t, rep, err, counts{rows: 2, inserted: 1, unchanged: 1})
		check("a file without status, phone and domains", "13900000001", 2, server.InspectorOnLeave)
		if in := findInspector(t, db, "C-0002"); in.Status != server.InspectorActive {
			t.Fatalf("a new inspector is active by default: %+v", in)
		}

		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until,domains,phone,status",
			"culture,李四,C-0001,2024-01-01,2029-12-31,,,")), opt)
		checkReport(t, rep, err, counts{rows: 1, updated: 1})
		check("blank cells", "13900000001", 2, server.InspectorOnLeave)

		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until,domains,phone,status",
			"culture,李四,C-0001,2024-01-01,2029-12-31,[清空],[clear],在岗")), opt)
		checkReport(t, rep, err, counts{rows: 1, updated: 1})
		check("markers", "", 0, server.InspectorActive)
	})
}

// TestImportEnterprises_StrayByte: one byte that is not UTF-8 in a UTF-8
// file rejects its row; the file is not read as GBK, so no name turns into
// mojibake.
func TestImportEnterprises_StrayByte(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		opt := server.ImportOptions{Format: server.ImportCSV}
		c := importtest.CreditCode
		clean := csvOf("credit_code,name,category,district,address,legal_representative",
			c(1)+",星空网吧,internet_cafe,路南区,新华道1号,张三",
			c(2)+",银河网咖,internet_cafe,路北区,建设路2号,李四",
			c(3)+",云端网咖,internet_cafe,古冶区,林西路3号,王五",
		)
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(clean), opt)
		checkReport(t, rep, err, counts{rows: 3, inserted: 3})
		stray := strings.Replace(clean, "建设路", "建设\xb0路", 1)
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(stray), opt)
		checkReport(t, rep, err, counts{rows: 3, unchanged: 2, rejected: 1})
		checkErrors(t, rep, "3  invalid_encoding")
		for i, name := range []string{"星空网吧", "银河网咖", "云端网咖"} {
			if e := findEnterprise(t, db, c(i+1)); e.Name != name {
				t.Fatalf("name %q, want %q", e.Name, name)
			}
		}

		// A whole file in GBK is read as GBK, and can be named.
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(strings.ReplaceAll(clean, "网", "网吧"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(gbk), opt)
		checkReport(t, rep, err, counts{rows: 3, updated: 3})
		if e := findEnterprise(t, db, c(2)); e.Name != "银河网吧咖" {
			t.Fatalf("GBK name %q", e.Name)
		}
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(gbk), server.ImportOptions{Format: server.ImportCSV, Encoding: "GBK"})
		checkReport(t, rep, err, counts{rows: 3, unchanged: 3})
		// Said to be UTF-8, its rows do not decode and are rejected.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(gbk), server.ImportOptions{Format: server.ImportCSV, Encoding: "utf-8"})
		checkReport(t, rep, err, counts{rows: 3, rejected: 3})
		// Said to be GB18030, a row that is not is rejected.
		rep, err = f.svc.ImportEnterprises(as(root), strings.NewReader(gbk+c(4)+",坏\xff,internet_cafe,路南区,,\n"), server.ImportOptions{Format: server.ImportCSV, Encoding: "gb18030"})
		checkReport(t, rep, err, counts{rows: 4, unchanged: 3, rejected: 1})
		checkErrors(t, rep, "5  invalid_encoding")
		if _, err := f.svc.ImportEnterprises(as(root), strings.NewReader(clean), server.ImportOptions{Format: server.ImportCSV, Encoding: "latin1"}); server.ErrorCode(err) != server.EUNSUPPORTED {
			t.Fatalf("unknown encoding: %v", err)
		}
	})
}

// TestImport_RepeatedKeys: a credit code or certificate number repeated in
// one file is reported; the first row is kept.
func TestImport_RepeatedKeys(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		opt := server.ImportOptions{Format: server.ImportCSV}
		c := importtest.CreditCode
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf("credit_code,name,category,district",
			c(1)+",第一,internet_cafe,路南区",
			c(2)+",第二,internet_cafe,路南区",
			strings.ToLower(c(1))+",第一又来,internet_cafe,路南区",
			c(3)+",第三,internet_cafe,路南区",
			c(2)+",第二又来,internet_cafe,路南区",
		)), opt)
		checkReport(t, rep, err, counts{rows: 5, inserted: 3, rejected: 2})
		checkErrors(t, rep, "4 credit_code duplicate_key", "6 credit_code duplicate_key")
		if !strings.Contains(rep.Errors[0].Message, "第2行") {
			t.Fatalf("message does not name the kept row: %s", rep.Errors[0].Message)
		}
		if e := findEnterprise(t, db, c(1)); e.Name != "第一" {
			t.Fatalf("kept %q", e.Name)
		}
		// Across batches (BatchSize is 3) too, and for inspectors.
		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until",
			"culture,甲,C-1,2024-01-01,2028-12-31", "culture,乙,C-2,2024-01-01,2028-12-31",
			"culture,丙,C-3,2024-01-01,2028-12-31", "culture,丁,C-4,2024-01-01,2028-12-31",
			"culture,甲二,C-1,2024-01-01,2028-12-31",
		)), opt)
		checkReport(t, rep, err, counts{rows: 5, inserted: 4, rejected: 1})
		checkErrors(t, rep, "6 certificate_number duplicate_key")
		if in := findInspector(t, db, "C-1"); in.Name != "甲" {
			t.Fatalf("kept %q", in.Name)
		}
	})
}

// TestImport_ControlCharacters: a NUL cell (PostgreSQL cannot store it)
// rejects its row; the good rows are kept.
func TestImport_ControlCharacters(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := importtest.CreditCode
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf("credit_code,name,category,district,address,备注",
			c(1)+",星空网吧,internet_cafe,路南区,新华道1号,",
			c(2)+",银河\x00网咖,internet_cafe,路北区,,",
			c(3)+",云端网咖,internet_cafe,古冶区,\"林西路\n3号\",",
			c(4)+",光年网咖,internet_cafe,古冶区,,\x00 not read",
		)), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 4, inserted: 2, rejected: 2})
		checkErrors(t, rep, "3 name invalid_character", "4 address invalid_character")
		rep, err = f.svc.ImportInspectors(as(root), strings.NewReader(csvOf(
			"department,name,certificate_number,certificate_valid_from,certificate_valid_until,phone",
			"culture,甲,C-1,2024-01-01,2028-12-31,139\x00", "culture,乙,C-2,2024-01-01,2028-12-31,")), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 2, inserted: 1, rejected: 1})
		checkErrors(t, rep, "2 phone invalid_character")
	})
}

// zipOf builds a zip archive of the named entries.
func zipOf(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip rewrites every entry of the archive b with old replaced by new:
// excelize itself cuts cells to 32,767 characters, an attacker does not.
func rezip(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string][]byte{}
	replaced := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		replaced = replaced || bytes.Contains(data, []byte(old))
		entries[f.Name] = bytes.ReplaceAll(data, []byte(old), []byte(new))
	}
	if !replaced {
		t.Fatalf("%q is not in the workbook", old)
	}
	return zipOf(t, entries)
}

// TestImport_Limits: a file over a limit is refused as a whole before
// anything is written (ETOOLARGE): a cell of spaces, too many rows or cells,
// an XLSX file that unzips to too much.
func TestImport_Limits(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := importtest.CreditCode
		good := c(1) + ",星空网吧,internet_cafe,路南区"
		bigCell := strings.Repeat(" ", importer.MaxCellBytes+1)
		var manyRows strings.Builder
		manyRows.WriteString("credit_code,name,category,district\n" + good + "\n")
		for range importer.MaxImportRows {
			manyRows.WriteString("x\n")
		}
		sheet := func(rows string) []byte {
			return []byte(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + rows + `</sheetData></worksheet>`)
		}
		var sheetRows strings.Builder
		for i := range importer.MaxImportRows + 2 {
			fmt.Fprintf(&sheetRows, `<row r="%d"/>`, i+1)
		}
		var wideRow strings.Builder
		wideRow.WriteString(`<row r="1">`)
		for range importer.MaxRowCells + 1 {
			wideRow.WriteString(`<c t="inlineStr"><is><t>x</t></is></c>`)
		}
		wideRow.WriteString(`</row>`)
		for _, tt := range []struct {
			name   string
			body   []byte
			format server.ImportFormat
		}{
			{"CSVCell", []byte(csvOf("credit_code,name,category,district", good, c(2)+","+bigCell+",internet_cafe,路南区")), server.ImportCSV},
			{"CSVQuotedCell", []byte(csvOf("credit_code,name,category,district", good, c(2)+",\""+strings.Repeat("\n", importer.MaxCellBytes+1)+"\",internet_cafe,路南区")), server.ImportCSV},
			{"CSVRows", []byte(manyRows.String()), server.ImportCSV},
			{"CSVCells", []byte(csvOf("credit_code,name,category,district", good+strings.Repeat(",", importer.MaxRowCells))), server.ImportCSV},
			{"XLSXCell", rezip(t, xlsxOf(t, []any{"credit_code", "name", "category", "district"}, []any{c(1), "星空网吧", "internet_cafe", "路南区"}, []any{c(2), "PLACEHOLDER", "internet_cafe", "路南区"}), "PLACEHOLDER", bigCell), server.ImportXLSX},
			{"XLSXSharedString", zipOf(t, map[string][]byte{"xl/sharedStrings.xml": []byte("<sst><si><t>" + bigCell + "</t></si></sst>")}), server.ImportXLSX},
			{"XLSXRows", zipOf(t, map[string][]byte{"xl/worksheets/sheet1.xml": sheet(sheetRows.String())}), server.ImportXLSX},
			{"XLSXCells", zipOf(t, map[string][]byte{"xl/worksheets/sheet1.xml": sheet(wideRow.String())}), server.ImportXLSX},
			{"XLSXUnzipped", zipOf(t, map[string][]byte{"xl/media/image1.png": make([]byte, 65<<20)}), server.ImportXLSX},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rep, err := f.svc.ImportEnterprises(as(root), bytes.NewReader(tt.body), server.ImportOptions{Format: tt.format})
				if server.ErrorCode(err) != server.ETOOLARGE {
					t.Fatalf("%v %+v, want ETOOLARGE", err, rep)
				}
				if msg := server.ErrorMessage(err); !strings.Contains(msg, "(") {
					t.Errorf("message %q should be Chinese then English", msg)
				}
				if n := countEnterprises(t, db); n != 0 {
					t.Fatalf("%d enterprises written", n)
				}
			})
		}
		// An entry that unzips to more than its header declares is refused
		// while it is read, before it can take more.
		var raw bytes.Buffer
		fw, _ := flate.NewWriter(&raw, flate.BestCompression)
		fw.Write([]byte("<worksheet><sheetData>" + strings.Repeat(" ", 8<<20) + "</sheetData></worksheet>"))
		fw.Close()
		var lying bytes.Buffer
		zw := zip.NewWriter(&lying)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
			CompressedSize64: uint64(raw.Len()), UncompressedSize64: 100})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		zw.Close()
		if _, err := f.svc.ImportEnterprises(as(root), bytes.NewReader(lying.Bytes()), server.ImportOptions{Format: server.ImportXLSX}); server.ErrorCode(err) != server.EINVALID {
			t.Fatalf("a zip entry larger than declared: %v", err)
		}

		// A file within the limits goes through.
		rep, err := f.svc.ImportEnterprises(as(root), strings.NewReader(csvOf("credit_code,name,category,district,address",
			good+","+strings.Repeat("路", 166))), server.ImportOptions{Format: server.ImportCSV})
		checkReport(t, rep, err, counts{rows: 1, inserted: 1})
	})
}

// TestImport_XLSXRowOfSharedStrings: cells that all name one large shared
// string make a row far larger than its XML; the row is rejected.
func TestImport_XLSXRowOfSharedStrings(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		book := excelize.NewFile()
		defer book.Close()
		rows := [][]string{
			{"credit_code", "name", "category", "district", "address", "legal_representative", "licence_number"},
			{importtest.CreditCode(1), "PLACEHOLDER", "PLACEHOLDER", "PLACEHOLDER", "PLACEHOLDER", "PLACEHOLDER", "PLACEHOLDER"},
			{importtest.CreditCode(2), "星空网吧", "internet_cafe", "路南区"},
		}
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := book.SetCellStr("Sheet1", cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		var buf bytes.Buffer
		if err := book.Write(&buf); err != nil {
			t.Fatal(err)
		}
		big := strings.Repeat("x", importer.MaxRowBytes/5)
		rep, err := f.svc.ImportEnterprises(as(root), bytes.NewReader(rezip(t, buf.Bytes(), "PLACEHOLDER", big)), server.ImportOptions{Format: server.ImportXLSX})
		checkReport(t, rep, err, counts{rows: 2, inserted: 1, rejected: 1})
		checkErrors(t, rep, "2  row_too_large")
	})
}
