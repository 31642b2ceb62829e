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
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/spotcheck/spotcheck/server"
)

// Row error codes for rows the reader cannot take apart. Codes are stable:
// clients match on them.
const (
	CodeWrongColumnCount = "wrong_column_count"
	CodeMalformedRow     = "malformed_row"
	CodeInvalidEncoding  = "invalid_encoding"
	CodeRowTooLarge      = "row_too_large"
)

// source yields a file's rows one at a time.
type source interface {
	// next returns the next row and its 1-based row number, io.EOF after the
	// last, or a *badRow for a row that cannot be read (reading may go on).
	next() (row int, fields []string, err error)
	// strictWidth reports whether every row must have exactly as many fields
	// as the header (CSV); XLSX drops trailing empty cells, so it need not.
	strictWidth() bool
	// keyCounts returns the file's keys as counted before reading, if they
	// were (see keyCounter): then only keys that may repeat are remembered.
	keyCounts() *keyCounts
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

// open spools r to a temporary file, checks the file against the limits
// (so a file that breaks one is refused before anything is written), and
// starts reading it in the requested format, reporting progress as the CSV
// file's rows are read, or as an XLSX file is received.
func (s *Service) open(r io.Reader, opt server.ImportOptions, keys *keyCounter) (source, error) {
	switch opt.Format {
	case server.ImportCSV:
		enc, err := csvEncoding(opt.Encoding)
		if err != nil {
			return nil, err
		}
		return newCSVSource(r, s.TempDir, enc, opt.Progress, keys)
	case server.ImportXLSX:
		if opt.Progress != nil {
			r = &countingReader{r: r, progress: opt.Progress}
		}
		return newXLSXSource(r, s.TempDir)
	}
	return nil, server.Errorf(server.EUNSUPPORTED, "不支持的文件格式，须为CSV或XLSX (unsupported format %q: use csv or xlsx).", opt.Format)
}

// spool copies r to a new temporary file in dir and returns its path.
func spool(r io.Reader, dir, pattern string) (path string, err error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
	}
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
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

// csvSource reads CSV with encoding/csv from the spooled file: one record at
// a time, so memory does not grow with the file. Fields are decoded from the
// file's encoding one by one; a row that does not decode is rejected.
type csvSource struct {
	path string
	f    *os.File
	r    *csv.Reader
	gb   *encoding.Decoder // GB18030; nil: UTF-8
	// allUTF8: the whole file is valid UTF-8, so its fields need no check.
	allUTF8 bool
	keys    *keyCounts // the file's keys, counted by the pre-pass; nil if not
	out     []string
}

func newCSVSource(r io.Reader, dir, enc string, progress func(int64), keys *keyCounter) (src *csvSource, err error) {
	path, err := spool(r, dir, "spotcheck-import-*.csv")
	if err != nil {
		return nil, err
	}
	s := &csvSource{path: path}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.f, err = os.Open(path); err != nil {
		return nil, err
	}
	scan, err := scanCSV(s.f, keys)
	if err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var in io.Reader = s.f
	if progress != nil {
		in = &countingReader{r: in, progress: progress}
	}
	br := bufio.NewReaderSize(in, 64<<10)
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xEF\xBB\xBF")) {
		// Excel writes a byte order mark before UTF-8 CSV.
		br.Discard(3)
		enc = server.ImportEncodingUTF8
	}
	if enc == server.ImportEncodingAuto {
		enc = scan.encoding()
	}
	s.allUTF8 = scan.allUTF8
	if enc == server.ImportEncodingGB18030 {
		s.gb = simplifiedchinese.GB18030.NewDecoder() // contains GBK and GB2312
	} else if keys != nil && scan.allUTF8 {
		// The keys were counted from the bytes the reader reads as they are.
		s.keys = keys.counts
	}
	// GB18030 never uses the bytes of a comma, quote or line break inside a
	// character, so records split the same before and after decoding.
	s.r = csv.NewReader(br)
	s.r.FieldsPerRecord = -1 // the importer reports wrong widths per row
	s.r.ReuseRecord = true
	return s, nil
}

// csvEncoding maps an encoding name (any case, as in a charset parameter)
// to one of the server.ImportEncoding values.
func csvEncoding(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return server.ImportEncodingAuto, nil
	case "utf-8", "utf8":
		return server.ImportEncodingUTF8, nil
	case "gb18030", "gbk", "gb2312", "cp936":
		return server.ImportEncodingGB18030, nil
	}
	return "", server.Errorf(server.EUNSUPPORTED, "不支持的编码%q，须为UTF-8或GB18030 (unsupported encoding %q: use utf-8 or gb18030).", name, name)
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
	if s.gb == nil {
		if s.allUTF8 {
			return line, fields, nil
		}
		for _, f := range fields {
			if !utf8.ValidString(f) {
				return line, nil, &badRow{CodeInvalidEncoding, "该行含有无效的UTF-8字符 (the row is not valid UTF-8)."}
			}
		}
		return line, fields, nil
	}
	s.out = s.out[:0]
	for _, f := range fields {
		d, err := s.gb.String(f)
		if err != nil || strings.ContainsRune(d, utf8.RuneError) {
			return line, nil, &badRow{CodeInvalidEncoding, "该行含有无效的GB18030字符 (the row is not valid GB18030)."}
		}
		s.out = append(s.out, d)
	}
	return line, s.out, nil
}

func (s *csvSource) strictWidth() bool { return true }

func (s *csvSource) keyCounts() *keyCounts { return s.keys }

func (s *csvSource) close() error {
	if s.f != nil {
		s.f.Close()
	}
	return os.Remove(s.path)
}

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

func newXLSXSource(r io.Reader, dir string) (src *xlsxSource, err error) {
	path, err := spool(r, dir, "spotcheck-import-*.xlsx")
	if err != nil {
		return nil, err
	}
	s := &xlsxSource{path: path}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := scanXLSX(path); err != nil {
		return nil, err
	}
	s.f, err = excelize.OpenFile(s.path, excelize.Options{
		UnzipXMLSizeLimit: xlsxXMLInMemory, UnzipSizeLimit: MaxXLSXUnzipped, TmpDir: dir,
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
	// Cells may name shared strings, so a row can be larger than its XML.
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	if n > MaxRowBytes {
		return s.row, nil, &badRow{CodeRowTooLarge, fmt.Sprintf("该行超过%d字节 (the row is over %d bytes).", MaxRowBytes, MaxRowBytes)}
	}
	return s.row, fields, nil
}

func (s *xlsxSource) strictWidth() bool { return false }

func (s *xlsxSource) keyCounts() *keyCounts { return nil }

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
