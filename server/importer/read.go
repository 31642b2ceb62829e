package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/spotcheck/spotcheck/server"
)

// Row error codes for rows the reader cannot take apart. Codes are stable:
// clients match on them.
const (
	CodeWrongColumnCount = "wrong_column_count"
	CodeMalformedRow     = "malformed_row"
	CodeInvalidEncoding  = "invalid_encoding"
)

// source yields a file's rows one at a time.
type source interface {
	// next returns the next row and its 1-based row number, io.EOF after the
	// last, or a *badRow for a row that cannot be read (reading may go on).
	next() (row int, fields []string, err error)
	// strictWidth reports whether every row must have exactly as many fields
	// as the header (CSV); XLSX drops trailing empty cells, so it need not.
	strictWidth() bool
	close() error
}

// badRow is a row that cannot be read; the rows after it can.
type badRow struct{ code, msg string }

func (e *badRow) Error() string { return e.code + ": " + e.msg }

func asBadRow(err error, target **badRow) bool { return err != nil && errors.As(err, target) }

// fileError turns an error reading the file into what the caller sees: an
// application error or a body-size error passes through, a broken file is
// EINVALID, anything else is wrapped.
func fileError(err error) error {
	var se *server.Error
	if errors.As(err, &se) {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return server.Errorf(server.EINVALID, "CSV文件格式错误 (malformed CSV): %v", pe)
	}
	return fmt.Errorf("read import file: %w", err)
}

// open starts reading r in the requested format, reporting progress as bytes are read.
func (s *Service) open(r io.Reader, opt server.ImportOptions) (source, error) {
	if opt.Progress != nil {
		r = &countingReader{r: r, progress: opt.Progress}
	}
	switch opt.Format {
	case server.ImportCSV:
		return newCSVSource(r)
	case server.ImportXLSX:
		return newXLSXSource(r, s.TempDir)
	}
	return nil, server.Errorf(server.EUNSUPPORTED, "不支持的文件格式，须为CSV或XLSX (unsupported format %q: use csv or xlsx).", opt.Format)
}

// countingReader reports the bytes read so far after every read.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.progress(c.n)
	}
	return n, err
}

// csvSource reads CSV with encoding/csv: one record at a time, so memory does
// not grow with the file.
type csvSource struct{ r *csv.Reader }

// sniffSize is how much of a CSV file is looked at to tell UTF-8 from GB18030.
const sniffSize = 64 << 10

func newCSVSource(r io.Reader) (*csvSource, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	var in io.Reader = br
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		// Excel writes a byte order mark before UTF-8 CSV.
		br.Discard(3)
	case !validUTF8Prefix(head, err == io.EOF):
		// Excel on Chinese Windows saves "CSV" in the ANSI code page, GBK,
		// which GB18030 contains.
		in = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1 // the importer reports wrong widths per row
	cr.ReuseRecord = true
	return &csvSource{r: cr}, nil
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a rune cut off
// at the end when b is only the start of the input.
func validUTF8Prefix(b []byte, whole bool) bool {
	if !whole {
		i := len(b)
		for k := 0; k < utf8.UTFMax && i > 0; k++ {
			i--
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

func (s *csvSource) next() (int, []string, error) {
	fields, err := s.r.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line := pe.StartLine
		if line == 0 {
			line = pe.Line
		}
		return line, nil, &badRow{CodeMalformedRow, fmt.Sprintf("CSV格式错误 (malformed CSV row): %v", pe.Err)}
	}
	if err != nil {
		return 0, nil, err
	}
	line, _ := s.r.FieldPos(0)
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return line, nil, &badRow{CodeInvalidEncoding, "该行含有无效的UTF-8字符 (the row is not valid UTF-8)."}
		}
	}
	return line, fields, nil
}

func (s *csvSource) strictWidth() bool { return true }
func (s *csvSource) close() error      { return nil }

// xlsxSource reads the first worksheet of an XLSX file with excelize's row
// iterator. An XLSX file is a zip archive, which needs random access, so the
// input is first spooled to a temporary file; excelize then keeps large
// worksheets on disk as well.
type xlsxSource struct {
	path string
	f    *excelize.File
	rows *excelize.Rows
	row  int
}

// xlsxXMLInMemory is the largest worksheet excelize keeps in memory; larger
// ones it unzips to a temporary file and streams.
const xlsxXMLInMemory = 4 << 20

// xlsxUnzipLimit caps the unzipped size of a workbook, against zip bombs.
const xlsxUnzipLimit = 4 << 30

func newXLSXSource(r io.Reader, dir string) (src *xlsxSource, err error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	tmp, err := os.CreateTemp(dir, "spotcheck-import-*.xlsx")
	if err != nil {
		return nil, err
	}
	s := &xlsxSource{path: tmp.Name()}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	s.f, err = excelize.OpenFile(s.path, excelize.Options{
		UnzipXMLSizeLimit: xlsxXMLInMemory, UnzipSizeLimit: xlsxUnzipLimit, TmpDir: dir,
	})
	if err != nil {
		return nil, server.Errorf(server.EINVALID, "不是有效的XLSX文件 (not a valid XLSX file).")
	}
	sheets := s.f.GetSheetList()
	if len(sheets) == 0 {
		return nil, server.Errorf(server.EINVALID, "XLSX文件没有工作表 (the XLSX file has no worksheet).")
	}
	if s.rows, err = s.f.Rows(sheets[0]); err != nil {
		return nil, server.Errorf(server.EINVALID, "无法读取工作表 (cannot read the worksheet): %s", sheets[0])
	}
	return s, nil
}

func (s *xlsxSource) next() (int, []string, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return 0, nil, server.Errorf(server.EINVALID, "无法读取工作表 (cannot read the worksheet): %v", err)
		}
		return 0, nil, io.EOF
	}
	s.row++ // Next steps over missing rows one by one, so this is the sheet's row number
	// Raw values: numbers as written (coordinates unrounded, dates as serials).
	fields, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return s.row, nil, &badRow{CodeMalformedRow, fmt.Sprintf("无法读取该行 (cannot read the row): %v", err)}
	}
	return s.row, fields, nil
}

func (s *xlsxSource) strictWidth() bool { return false }

func (s *xlsxSource) close() error {
	if s.rows != nil {
		s.rows.Close()
	}
	if s.f != nil {
		s.f.Close() // removes excelize's own temporary files
	}
	return os.Remove(s.path)
}

// blank reports whether every field is empty or spaces.
func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
