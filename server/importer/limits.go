package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spotcheck/spotcheck/server"
)

// Limits on an import file. The spooled file is checked against them before
// anything is read into the database, so a file that breaks one is refused as
// a whole (ETOOLARGE) and changes nothing; memory stays bounded whatever the
// file holds.
const (
	// MaxImportRows is the most data rows a file may have; split larger files.
	MaxImportRows = 1_000_000
	// MaxCellBytes bounds one cell as written in the file (Excel's own limit
	// is 32,767 characters, at most 3 bytes each in UTF-8, more when escaped
	// in XML).
	MaxCellBytes = 256 << 10
	// MaxRowBytes bounds one CSV record, or one XLSX row's XML.
	MaxRowBytes = 1 << 20
	// MaxRowCells bounds the cells of one row. A row's cells may name shared
	// strings, so this times MaxCellBytes bounds a row read from XLSX.
	MaxRowCells = 256
	// MaxXLSXUnzipped bounds a workbook's entries unzipped, together. The
	// worksheets and the shared strings beyond xlsxXMLInMemory are unzipped
	// to temporary files and streamed; every other entry is read into memory,
	// so those together are bounded by maxXLSXOtherUnzipped.
	MaxXLSXUnzipped      = 1 << 30
	maxXLSXOtherUnzipped = 64 << 20
	maxXLSXEntries       = 10_000
	// maxXMLTag bounds one XML tag (element name and attributes).
	maxXMLTag = 64 << 10
)

func tooLarge(format string, args ...any) error {
	return server.Errorf(server.ETOOLARGE, format, args...)
}

// csvScan is what a pass over a CSV file learned about its encoding.
type csvScan struct {
	allUTF8     bool // every byte is part of valid UTF-8: no field need be checked again
	utf8Multi   int  // valid multi-byte UTF-8 sequences
	utf8Invalid int  // bytes that are not UTF-8
	gbInvalid   bool // some bytes are not GB18030
}

// encoding picks the file's encoding: UTF-8 unless the file is not UTF-8,
// is GB18030 throughout, and looks more like GB18030 than like UTF-8 with a
// few stray bytes (those rows are rejected, never decoded as GB18030).
func (c *csvScan) encoding() string {
	if c.utf8Invalid > 0 && !c.gbInvalid && c.utf8Invalid > c.utf8Multi {
		return server.ImportEncodingGB18030
	}
	return server.ImportEncodingUTF8
}

// scanCSV reads a whole CSV file once, a line at a time: it checks the row,
// record and cell limits, following quoting as encoding/csv does, and
// whether the bytes are UTF-8. A file that is not all UTF-8 is read a second
// time to weigh UTF-8 against GB18030 (scanEncoding).
//
// With keys set, it also counts the file's keys into keys.counts (a nil
// counts: the file is not one it can count, see keyCounter).
func scanCSV(f io.ReadSeeker, keys *keyCounter) (*csvScan, error) {
	r := bufio.NewReaderSize(f, 64<<10)
	recs := csvRecords{line: 1, cells: 1, recStart: 1, fieldStart: true}
	valid := true
	for {
		b, err := r.ReadSlice('\n')
		// A piece cut by a full buffer may end inside a character: then
		// the exact pass below decides.
		valid = valid && err != bufio.ErrBufferFull && utf8.Valid(b)
		whole := recs.recBytes == 0 && !recs.inQuote
		if ferr := recs.feedLine(b); ferr != nil {
			return nil, ferr
		}
		if keys != nil && keys.counts != nil && len(b) > 0 {
			// Only a whole record without quotes is split here.
			if whole && (err == nil || err == io.EOF) && bytes.IndexByte(b, '"') < 0 {
				keys.line(b)
			} else {
				keys.counts = nil
			}
		}
		if err == io.EOF {
			break
		} else if err != nil && err != bufio.ErrBufferFull {
			return nil, err
		}
	}
	if err := recs.endRecord(); err != nil {
		return nil, err
	}
	if valid {
		return &csvScan{allUTF8: true}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return scanEncoding(bufio.NewReaderSize(f, 64<<10))
}

// csvRecords follows a CSV file's records as encoding/csv reads them and
// checks each against the limits.
type csvRecords struct {
	line, rows          int
	recBytes, cellBytes int
	cells               int
	recStart            int // the line the current record starts on
	inQuote, quoteSeen  bool
	fieldStart          bool
}

func (s *csvRecords) endRecord() error {
	if s.recBytes > 0 {
		s.rows++
		if s.rows > MaxImportRows+1 {
			return tooLarge("文件超过%d行数据，请拆分后导入 (the file has more than %d data rows; split it).", MaxImportRows, MaxImportRows)
		}
	}
	s.recBytes, s.cellBytes, s.cells, s.fieldStart, s.recStart = 0, 0, 1, true, s.line+1
	return nil
}

// feedLine reads b, a line with its line break (or the file's last bytes).
// The usual line, a whole record without quotes, short and with few cells,
// is taken at once; any other byte by byte.
func (s *csvRecords) feedLine(b []byte) error {
	if s.recBytes == 0 && !s.inQuote && len(b) > 0 && len(b) <= MaxCellBytes && b[len(b)-1] == '\n' &&
		bytes.IndexByte(b, '"') < 0 && bytes.Count(b, []byte{','}) < MaxRowCells {
		s.line++
		s.recBytes = len(b)
		return s.endRecord()
	}
	for _, c := range b {
		if err := s.feed(c); err != nil {
			return err
		}
	}
	return nil
}

// feed reads one byte.
func (s *csvRecords) feed(c byte) error {
	s.recBytes++
	if c == '\n' {
		s.line++
	}
	if s.inQuote {
		if s.quoteSeen {
			s.quoteSeen = false
			if c == '"' {
				s.cellBytes++
				return nil
			}
			s.inQuote = false // closed; c is read below as unquoted
		} else if c == '"' {
			s.quoteSeen = true
			return nil
		} else {
			s.cellBytes++
			return csvCheck(s.recStart, s.recBytes, s.cellBytes, s.cells)
		}
	}
	switch {
	case c == '"' && s.fieldStart:
		s.inQuote, s.fieldStart = true, false
	case c == ',':
		s.cells, s.cellBytes, s.fieldStart = s.cells+1, 0, true
	case c == '\n':
		return s.endRecord()
	default:
		s.cellBytes++
		s.fieldStart = false
	}
	return csvCheck(s.recStart, s.recBytes, s.cellBytes, s.cells)
}

// scanEncoding reads a whole file that is not all UTF-8 and counts what
// csvScan.encoding weighs.
func scanEncoding(r *bufio.Reader) (*csvScan, error) {
	var (
		sc      csvScan
		pend    []byte // an incomplete UTF-8 sequence
		gbState int
	)
	buf := make([]byte, 64<<10)
	for {
		n, rerr := io.ReadFull(r, buf)
		if rerr == io.EOF {
			break
		} else if rerr != nil && rerr != io.ErrUnexpectedEOF {
			return nil, rerr
		}
		chunk := buf[:n]
		// UTF-8 is decoded a chunk at a time as one stream: a sequence the
		// chunk's end cuts waits in pend for the next chunk.
		u := chunk
		if len(pend) > 0 {
			u = append(pend, chunk...)
		}
		k := 0
		for k < len(u) {
			if u[k] < 0x80 {
				k++
				continue
			}
			if !utf8.FullRune(u[k:]) {
				break
			}
			ru, size := utf8.DecodeRune(u[k:])
			if ru == utf8.RuneError && size == 1 {
				sc.utf8Invalid++
			} else if size > 1 {
				sc.utf8Multi++
			}
			k += size
		}
		pend = append(pend[:0:0], u[k:]...)

		for _, c := range chunk {
			switch gbState {
			case 0:
				if c == 0x80 || c == 0xFF {
					sc.gbInvalid = true
				} else if c > 0x80 {
					gbState = 1
				}
			case 1:
				switch {
				case c >= 0x40 && c <= 0x7E || c >= 0x80 && c <= 0xFE:
					gbState = 0
				case c >= 0x30 && c <= 0x39:
					gbState = 2
				default:
					sc.gbInvalid, gbState = true, 0
				}
			case 2:
				if c >= 0x81 && c <= 0xFE {
					gbState = 3
				} else {
					sc.gbInvalid, gbState = true, 0
				}
			case 3:
				if c < 0x30 || c > 0x39 {
					sc.gbInvalid = true
				}
				gbState = 0
			}
		}
		if rerr == io.ErrUnexpectedEOF {
			break
		}
	}
	sc.utf8Invalid += len(pend)
	if gbState != 0 {
		sc.gbInvalid = true
	}
	return &sc, nil
}

// csvCheck returns ETOOLARGE if the record starting on line breaks a limit.
func csvCheck(line, recBytes, cellBytes, cells int) error {
	switch {
	case cellBytes > MaxCellBytes:
		return tooLarge("第%d行有单元格超过%d字节 (a cell of the record on line %d is over %d bytes).", line, MaxCellBytes, line, MaxCellBytes)
	case recBytes > MaxRowBytes:
		return tooLarge("第%d行超过%d字节 (the record on line %d is over %d bytes).", line, MaxRowBytes, line, MaxRowBytes)
	case cells > MaxRowCells:
		return tooLarge("第%d行超过%d列 (the record on line %d has more than %d cells).", line, MaxRowCells, line, MaxRowCells)
	}
	return nil
}

// streamedXLSXPart reports whether excelize unzips the entry to a temporary
// file when it is large (worksheets and the shared strings) rather than
// reading it into memory.
func streamedXLSXPart(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "\\", "/"))
	return n == "xl/sharedstrings.xml" || strings.HasPrefix(n, "xl/worksheets/sheet")
}

// scanXLSX checks a workbook against the limits before excelize opens it:
// the entries' unzipped sizes (archive/zip refuses an entry that unzips to
// more than its header says), and in the worksheets and shared strings the
// rows, cells and text, by a streaming pass over their XML.
func scanXLSX(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return server.Errorf(server.EINVALID, "不是有效的XLSX文件 (not a valid XLSX file).")
	}
	defer zr.Close()
	if len(zr.File) > maxXLSXEntries {
		return tooLarge("XLSX文件的部件过多 (the XLSX file has more than %d parts).", maxXLSXEntries)
	}
	var total, other uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if !streamedXLSXPart(f.Name) {
			other += f.UncompressedSize64
		}
		if total > MaxXLSXUnzipped || other > maxXLSXOtherUnzipped {
			return tooLarge("XLSX文件解压后过大 (the XLSX file is too large once unzipped).")
		}
	}
	for _, f := range zr.File {
		if !streamedXLSXPart(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return server.Errorf(server.EINVALID, "不是有效的XLSX文件 (not a valid XLSX file).")
		}
		err = scanXML(bufio.NewReaderSize(rc, 64<<10), !strings.EqualFold(f.Name, "xl/sharedStrings.xml"))
		rc.Close()
		if err != nil {
			var se *server.Error
			if errors.As(err, &se) {
				return err
			}
			return server.Errorf(server.EINVALID, "不是有效的XLSX文件 (not a valid XLSX file).")
		}
	}
	return nil
}

// scanXML reads the XML of a worksheet (sheet) or of the shared strings,
// without building it: no text run may be over MaxCellBytes, no tag over
// maxXMLTag, no shared string or row over MaxRowBytes, no row over
// MaxRowCells cells, and no sheet over MaxImportRows+1 rows.
func scanXML(r *bufio.Reader, sheet bool) error {
	var (
		inTag             bool
		tag               []byte // the start of the current tag, for its name
		last              byte   // the tag's last byte
		tagLen, textLen   int
		rows, cells       int
		elemBytes         int // bytes since the current row or shared string began
		inElem            bool
		elemName, cellTag = "si", "r" // rich-text runs count as the shared string's cells
	)
	if sheet {
		elemName, cellTag = "row", "c"
	}
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if inElem {
			elemBytes++
			if elemBytes > MaxRowBytes {
				return tooLarge("XLSX中有一行或一个字符串超过%d字节 (a row or string of the XLSX file is over %d bytes).", MaxRowBytes, MaxRowBytes)
			}
		}
		switch {
		case c == '<':
			inTag, tag, tagLen, textLen, last = true, tag[:0], 0, 0, 0
		case c == '>' && inTag:
			inTag = false
			name, closing := xmlName(tag)
			switch {
			case name == elemName && !closing:
				inElem, elemBytes, cells = true, 0, 0
				rows++
				if sheet && rows > MaxImportRows+1 {
					return tooLarge("文件超过%d行数据，请拆分后导入 (the file has more than %d data rows; split it).", MaxImportRows, MaxImportRows)
				}
				if last == '/' {
					inElem = false // an empty element
				}
			case name == elemName:
				inElem = false
			case name == cellTag && !closing && inElem:
				cells++
				if cells > MaxRowCells {
					return tooLarge("XLSX中有一行超过%d个单元格 (a row of the XLSX file has more than %d cells).", MaxRowCells, MaxRowCells)
				}
			}
		case inTag:
			tagLen++
			if tagLen > maxXMLTag {
				return tooLarge("XLSX文件含有过长的XML标记 (the XLSX file has an XML tag over %d bytes).", maxXMLTag)
			}
			if len(tag) < 64 {
				tag = append(tag, c)
			}
			last = c
		default:
			textLen++
			if textLen > MaxCellBytes {
				return tooLarge("XLSX中有单元格超过%d字节 (a cell of the XLSX file is over %d bytes).", MaxCellBytes, MaxCellBytes)
			}
		}
	}
}

// xmlName returns the local name of the element a tag opens or closes.
func xmlName(tag []byte) (name string, closing bool) {
	if len(tag) > 0 && tag[0] == '/' {
		closing, tag = true, tag[1:]
	}
	end := 0
	for end < len(tag) && tag[end] != ' ' && tag[end] != '/' && tag[end] != '\t' && tag[end] != '\n' && tag[end] != '\r' {
		end++
	}
	n := string(tag[:end])
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		n = n[i+1:]
	}
	return n, closing
}

// keyCounter counts the credit codes of a CSV file's records during the
// pre-pass, so that the duplicate check need remember only the keys that
// may repeat: memory that does not grow with the file. It splits records on
// commas, so a file with a quote in it, or not read as UTF-8, is not counted.
type keyCounter struct {
	// header maps the header's cells to the key's column, -1 if it has none.
	header func(cells []string) int
	col    int // the key's column, -1 before the header
	counts *keyCounts
}

func newKeyCounter(header func(cells []string) int) *keyCounter {
	return &keyCounter{header: header, col: -1, counts: newKeyCounts()}
}

// line counts the key of b, a record without quotes and with its line break.
func (k *keyCounter) line(b []byte) {
	// As encoding/csv: a line break is \n or \r\n, and empty lines are skipped.
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
	if len(b) == 0 {
		return
	}
	if k.col < 0 {
		b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
		if k.col = k.header(strings.Split(string(b), ",")); k.col < 0 {
			k.counts = nil
		}
		return
	}
	for i := 0; i < k.col; i++ {
		j := bytes.IndexByte(b, ',')
		if j < 0 {
			return // too few cells: the row is refused
		}
		b = b[j+1:]
	}
	if j := bytes.IndexByte(b, ','); j >= 0 {
		b = b[:j]
	}
	// As enterpriseBatch.key reads it.
	if key, ok := server.CreditCodeKey(strings.ToUpper(strings.TrimSpace(string(b)))); ok {
		k.counts.add(key)
	}
}

// keyCounts tells, for each of keyBuckets buckets of keys, whether none,
// one or more of a file's keys fall in it: 4 MiB however long the file. A
// key whose bucket holds one key (its own) cannot repeat. At 1,000,000 keys
// about one in sixteen shares its bucket.
type keyCounts struct{ once, twice []uint64 }

const keyBuckets = 1 << 24

func newKeyCounts() *keyCounts {
	return &keyCounts{once: make([]uint64, keyBuckets/64), twice: make([]uint64, keyBuckets/64)}
}

func keyBucket(k seenKey) (word int, bit uint64) {
	h := binary.LittleEndian.Uint64(k[:8])*0x9E3779B97F4A7C15 ^ uint64(binary.LittleEndian.Uint32(k[8:]))*0xC2B2AE3D27D4EB4F
	h ^= h >> 31
	h *= 0xBF58476D1CE4E5B9
	i := h >> (64 - 24)
	return int(i / 64), 1 << (i % 64)
}

func (c *keyCounts) add(k seenKey) {
	w, b := keyBucket(k)
	if c.once[w]&b != 0 {
		c.twice[w] |= b
	}
	c.once[w] |= b
}

// mayRepeat reports whether k's bucket holds more than one key of the file.
func (c *keyCounts) mayRepeat(k seenKey) bool {
	w, b := keyBucket(k)
	return c.twice[w]&b != 0
}
