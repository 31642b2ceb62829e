package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// scanCSVByBytes is scanCSV without the line-at-a-time shortcut: every byte
// through csvRecords.feed, and the encoding weighed by scanEncoding.
func scanCSVByBytes(data []byte) (*csvScan, error) {
	recs := csvRecords{line: 1, cells: 1, recStart: 1, fieldStart: true}
	for _, c := range data {
		if err := recs.feed(c); err != nil {
			return nil, err
		}
	}
	if err := recs.endRecord(); err != nil {
		return nil, err
	}
	return scanEncoding(bufio.NewReader(bytes.NewReader(data)))
}

// TestScanCSVShortcut checks that taking plain lines at once finds the same
// limit errors, on the same lines, and the same encoding as reading byte by byte.
func TestScanCSVShortcut(t *testing.T) {
	long := strings.Repeat("x", MaxCellBytes)
	cases := []string{
		"",
		"a,b\n1,2\n",
		"a,b\r\n1,2\r\n3,4",
		"a,b\n\"1\n2\",3\n4,5\n",
		"a,b\n\"x\"\"y\",z\n\"q\"\n",
		"a,b\n1," + long + "\n",
		"a,b\n1," + long[1:] + "\n2,3\n",
		"a\n" + strings.Repeat(",", MaxRowCells) + "\n",
		"a\n" + strings.Repeat(",", MaxRowCells-1) + "\n",
		"a\n\"" + strings.Repeat("y", MaxRowBytes) + "\"\n",
		"名称,地址\n网吧,思明区\n",
		"\xef\xbb\xbf名称\n网吧\n",
		"a\n\xd0\xc7\xbf\xd5\n",                   // GB18030
		"a\n\xd0\xc7\xbf\xd5,网吧\n",                // mixed
		"a\n" + strings.Repeat("网", 30000) + "\n", // lines longer than the reader's buffer
		"a\n\"\n\n\n\"\n\n\nb\n",
	}
	for i, c := range cases {
		got, gerr := scanCSV(bytes.NewReader([]byte(c)))
		want, werr := scanCSVByBytes([]byte(c))
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("case %d: error %v, byte by byte %v", i, gerr, werr)
			continue
		}
		if gerr == nil && got.encoding() != want.encoding() {
			t.Errorf("case %d: encoding %s, byte by byte %s", i, got.encoding(), want.encoding())
		}
		if gerr == nil && got.allUTF8 && want.utf8Invalid > 0 {
			t.Errorf("case %d: all UTF-8, but %d bytes are not", i, want.utf8Invalid)
		}
	}
}

// FuzzScanCSV is TestScanCSVShortcut on any bytes.
func FuzzScanCSV(f *testing.F) {
	f.Add([]byte("a,b\n\"1\n2\",3\n4,5\n"))
	f.Add([]byte("a\n\xd0\xc7\xbf\xd5,网吧\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := scanCSV(bytes.NewReader(data))
		want, werr := scanCSVByBytes(data)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("error %v, byte by byte %v", gerr, werr)
		}
		if gerr == nil && (got.encoding() != want.encoding() || got.allUTF8 && want.utf8Invalid > 0) {
			t.Fatalf("scan %+v, byte by byte %+v", got, want)
		}
	})
}
