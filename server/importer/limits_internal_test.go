package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
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
		got, gerr := scanCSV(bytes.NewReader([]byte(c)), nil)
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
		got, gerr := scanCSV(bytes.NewReader(data), nil)
		want, werr := scanCSVByBytes(data)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("error %v, byte by byte %v", gerr, werr)
		}
		if gerr == nil && (got.encoding() != want.encoding() || got.allUTF8 && want.utf8Invalid > 0) {
			t.Fatalf("scan %+v, byte by byte %+v", got, want)
		}
	})
}

// checkKeyCounts checks the property the duplicate check relies on: if the
// pre-pass counted data's keys, every credit code that two records of data
// hold (as the reader splits them) may repeat.
func checkKeyCounts(t *testing.T, data []byte) (counted bool) {
	t.Helper()
	keys := newKeyCounter(func(cells []string) int {
		h, err := mapHeader(cells, enterpriseColumns)
		if err != nil {
			return -1
		}
		return h.index["credit_code"]
	})
	if _, err := scanCSV(bytes.NewReader(data), keys); err != nil || keys.counts == nil {
		return false
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return true
	}
	h, err := mapHeader(header, enterpriseColumns)
	if err != nil {
		t.Fatalf("keys counted for a file whose header does not map: %v", err)
	}
	col := h.index["credit_code"]
	times := map[seenKey]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil || col >= len(rec) {
			continue
		}
		if k, ok := server.CreditCodeKey(strings.ToUpper(strings.TrimSpace(rec[col]))); ok {
			times[k]++
		}
	}
	for k, n := range times {
		if n > 1 && !keys.counts.mayRepeat(k) {
			t.Fatalf("a key held by %d records does not count as one that may repeat", n)
		}
	}
	return true
}

func TestKeyCounts(t *testing.T) {
	c := importtest.CreditCode
	files := []string{
		"credit_code,name,category,district\n" + c(1) + ",a,x,y\n" + c(2) + ",b,x,y\n" + c(1) + ",c,x,y\n",
		"\xEF\xBB\xBFname,统一社会信用代码,类别,区县\r\n\r\na, " + c(1) + " ,x,y\r\nb," + strings.ToLower(c(1)) + "\r\n\nc," + c(2),
		"name,category,credit_code,district\nx\n" + "a,x," + c(3) + "\n" + "b,x," + c(3) + ",d\n",
	}
	for i, f := range files {
		if !checkKeyCounts(t, []byte(f)) {
			t.Errorf("file %d: keys not counted", i)
		}
	}
	// Files split on commas would be read wrong are not counted.
	for i, f := range []string{
		"credit_code,name,category,district\n\"" + c(1) + "\",a,x,y\n" + c(1) + ",b,x,y\n",
		"\"credit_code\",name,category,district\n" + c(1) + ",a,x,y\n",
		"name,category,district\na,b,c\n",
	} {
		if checkKeyCounts(t, []byte(f)) {
			t.Errorf("file %d: keys counted", i)
		}
	}
	// A key held once does not count as one that may repeat (the buckets
	// are many, so with three keys none shares one).
	keys := newKeyCounter(func([]string) int { return 0 })
	scanCSV(bytes.NewReader([]byte("credit_code\n"+c(1)+"\n"+c(2)+"\n"+c(2)+"\n"+c(3)+"\n")), keys)
	for n, want := range map[int]bool{1: false, 2: true, 3: false} {
		k, _ := server.CreditCodeKey(c(n))
		if got := keys.counts.mayRepeat(k); got != want {
			t.Errorf("key %d: may repeat %v, want %v", n, got, want)
		}
	}
}

func FuzzKeyCounts(f *testing.F) {
	c := importtest.CreditCode
	f.Add([]byte("credit_code,name,category,district\n" + c(1) + ",a\r\n" + strings.ToLower(c(1)) + " ,c"))
	f.Add([]byte("\xEF\xBB\xBFname,credit_code,category,district\n\na," + c(2) + "\nb,\t" + c(2) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkKeyCounts(t, data) })
}
