// Package pdf writes the printed documents of a campaign — the notification
// letters (告知书), the joint inspection record (一企一表) of a packet and the
// grouping report — as A4 PDFs in Simplified Chinese. It is built on
// go-pdf/fpdf and embeds two openly licensed TrueType fonts, subset into each
// PDF, so documents render the same on a bare machine with no fonts
// installed: Droid Sans Fallback (Apache 2.0) for Chinese and DejaVu Sans
// (Bitstream Vera licence) for Latin letters and digits; see fonts/.
package pdf

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
)

// Two fonts, chosen per character: DejaVu Sans for Latin letters, digits
// and punctuation, Droid Sans Fallback for Chinese (it has no Latin).
var (
	//go:embed fonts/DroidSansFallbackFull.ttf
	fontCJK []byte
	//go:embed fonts/DejaVuSans.ttf
	fontLatin []byte
)

// glyphsCJK and glyphsLatin are the embedded fonts, parsed to tell which
// characters each can draw.
var glyphsCJK, glyphsLatin = parseFont(fontCJK), parseFont(fontLatin)

func parseFont(b []byte) *sfnt.Font {
	f, err := sfnt.Parse(b)
	if err != nil {
		panic("pdf: embedded font: " + err.Error())
	}
	return f
}

// Missing is printed in place of a character the font has no glyph for
// (〓, the customary mark for a character that cannot be typeset), so a
// document never silently loses one. fpdf cannot encode characters outside
// the Basic Multilingual Plane at all.
const Missing = '\u3013'

// fontOfRune holds, for each character of the Basic Multilingual Plane,
// the font that draws it: 0 neither, 1 Latin, 2 CJK. Built once, on first
// use.
var (
	fontOfRune     [0x10000]uint8
	fontOfRuneOnce sync.Once
)

func buildFontTable() {
	var b sfnt.Buffer
	for r := rune(0); r < 0x10000; r++ {
		if i, err := glyphsLatin.GlyphIndex(&b, r); err == nil && i != 0 {
			fontOfRune[r] = 1
		} else if i, err := glyphsCJK.GlyphIndex(&b, r); err == nil && i != 0 {
			fontOfRune[r] = 2
		}
	}
}

// fontOf returns the family of the embedded font that draws r: the Latin
// font where it has the glyph, else the CJK font, "" for neither.
func fontOf(r rune) string {
	if r < 0 || r > 0xFFFF {
		return ""
	}
	fontOfRuneOnce.Do(buildFontTable)
	switch fontOfRune[r] {
	case 1:
		return fontLatinName
	case 2:
		return fontCJKName
	}
	return ""
}

// hasGlyph reports whether one of the embedded fonts can draw r.
func hasGlyph(r rune) bool { return fontOf(r) != "" }

// printable replaces every character the font cannot draw with Missing;
// tabs and other control characters become spaces.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r < ' ' || !hasGlyph(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r < ' ':
			return ' '
		case !hasGlyph(r):
			return Missing
		}
		return r
	}, s)
}

const (
	fontCJKName   = "cjk"
	fontLatinName = "latin"
	pageMargin    = 15.0 // mm, each side
	lineH         = 5.5  // mm, one line of body text
)

// doc is one document being written: fpdf with the CJK font, A4 pages, a
// title line on every page and "第 N 页 共 M 页" at the foot.
type doc struct {
	f      *fpdf.Fpdf
	header string // printed at the top of every page
	// table is the header of the table being written, repeated at the
	// top of a page the table breaks onto.
	table  *table
	widths map[widthKey]float64
	starts []int   // the first page of each part
	counts []int   // the pages of each part, from the first pass
	pt     float64 // font size
	fam    string  // the font family set in fpdf, "" for unknown
	famPt  float64 // and its size
}

// render writes a document in two passes: the first counts the pages of
// each part (a part is a document of its own, such as one target's letter
// in a merged PDF), the second prints "第 N 页 共 M 页" per part.
func render(w io.Writer, title, header string, write func(d *doc)) error {
	first := newDoc(title, header)
	write(first)
	if err := first.f.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	d := newDoc(title, header)
	d.counts = first.partCounts()
	write(d)
	return d.write(w)
}

// part starts a new part on a new page; its pages are numbered from 1.
func (d *doc) part() {
	d.f.AddPage() // the footer of the page before still counts in its part
	d.starts = append(d.starts, d.f.PageNo())
}

// partCounts returns how many pages each part has.
func (d *doc) partCounts() []int {
	counts := make([]int, len(d.starts))
	for i, s := range d.starts {
		next := d.f.PageNo() + 1
		if i+1 < len(d.starts) {
			next = d.starts[i+1]
		}
		counts[i] = next - s
	}
	return counts
}

// pageLabel is the page's "第 N 页 共 M 页" within its part.
func (d *doc) pageLabel() string {
	i := len(d.starts) - 1
	if i < 0 {
		return ""
	}
	total := 0
	if i < len(d.counts) {
		total = d.counts[i]
	}
	return fmt.Sprintf("第 %d 页 共 %d 页", d.f.PageNo()-d.starts[i]+1, total)
}

// newDoc returns an empty document with the header on every page.
func newDoc(title, header string) *doc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetMargins(pageMargin, pageMargin+6, pageMargin)
	f.SetAutoPageBreak(true, pageMargin+5)
	f.AddUTF8FontFromBytes(fontCJKName, "", fontCJK)
	f.AddUTF8FontFromBytes(fontLatinName, "", fontLatin)
	f.SetTitle(title, true)
	f.SetCreator("spotcheck", true)
	d := &doc{f: f, header: header}
	f.SetHeaderFunc(func() {
		// fpdf sets the font back itself after the header and footer:
		// what d.fam says is then unknown.
		defer func() { d.fam = "" }()
		defer d.size(d.pt) // the text that broke onto this page goes on in its size
		d.size(8)
		f.SetTextColor(110, 110, 110)
		f.Line(pageMargin, pageMargin-1, pageMargin+d.width(), pageMargin-1)
		d.text(pageMargin, pageMargin-5, d.width(), 4, header, "L")
		f.SetTextColor(0, 0, 0)
		f.SetXY(pageMargin, pageMargin+6)
		if d.table != nil {
			d.table.writeHeader(d)
		}
	})
	f.SetFooterFunc(func() {
		defer func() { d.fam = "" }()
		defer d.size(d.pt)
		d.size(8)
		f.SetTextColor(110, 110, 110)
		_, h := f.GetPageSize()
		d.text(pageMargin, h-pageMargin, d.width(), 4, d.pageLabel(), "C")
		f.SetTextColor(0, 0, 0)
	})
	return d
}

// width is the printable width of a page.
func (d *doc) width() float64 {
	w, _ := d.f.GetPageSize()
	return w - 2*pageMargin
}

// bottom is the lowest y a line may end at before the page breaks.
func (d *doc) bottom() float64 {
	_, h := d.f.GetPageSize()
	_, _, _, b := d.f.GetMargins()
	return h - b
}

// title writes a centred document title.
func (d *doc) title(s string) {
	d.size(16)
	for _, l := range d.wrap(s, d.width()) {
		d.text(pageMargin, d.f.GetY(), d.width(), 9, l, "C")
		d.f.Ln(9)
	}
	d.f.Ln(2)
}

// heading writes a section heading.
func (d *doc) heading(s string) {
	d.ensure(lineH * 3)
	d.f.Ln(2)
	d.size(12)
	d.f.SetFillColor(232, 236, 242)
	y := d.f.GetY()
	d.f.Rect(pageMargin, y, d.width(), 7, "F")
	d.text(pageMargin+1, y, d.width()-2, 7, s, "L")
	d.f.SetXY(pageMargin, y+7)
	d.f.Ln(1)
	d.body()
}

// body sets the body font.
func (d *doc) body() { d.size(10) }

// size sets the font size of the text that follows.
func (d *doc) size(pt float64) {
	d.pt = pt
	d.font(fontCJKName)
}

// text writes one line of s in a box of w×h mm at x, y, aligned L, C or R,
// switching fonts between runs of Latin and Chinese characters. It does not
// move the current position.
func (d *doc) text(x, y, w, h float64, s string, align string) {
	s = printable(s)
	tw := 0.0
	for _, r := range s {
		tw += d.runeWidth(r)
	}
	switch align {
	case "C":
		x += (w - tw) / 2
	case "R":
		x += w - tw
	}
	rs := []rune(s)
	for i := 0; i < len(rs); {
		fam := runFont(rs[i])
		j := i + 1
		for j < len(rs) && runFont(rs[j]) == fam {
			j++
		}
		run := string(rs[i:j])
		rw := 0.0
		for _, r := range rs[i:j] {
			rw += d.runeWidth(r)
		}
		d.font(fam)
		d.f.SetXY(x, y)
		d.f.CellFormat(rw, h, run, "", 0, "L", false, 0, "")
		x += rw
		i = j
	}
}

// font switches to the family at the current size, unless it is set.
func (d *doc) font(fam string) {
	if d.fam != fam || d.famPt != d.pt {
		d.f.SetFont(fam, "", d.pt)
		d.fam, d.famPt = fam, d.pt
	}
}

// runFont is the font a character is written in; a space goes with the
// Latin font.
func runFont(r rune) string {
	if f := fontOf(r); f != "" {
		return f
	}
	return fontCJKName
}

// para writes wrapped body text.
func (d *doc) para(s string) {
	d.body()
	d.lines(pageMargin, d.width(), s)
}

// lines writes s wrapped into width w from x, breaking pages as needed.
func (d *doc) lines(x, w float64, s string) {
	for _, para := range strings.Split(s, "\n") {
		for _, l := range d.wrap(para, w) {
			d.ensure(lineH)
			d.text(x, d.f.GetY(), w, lineH, l, "L")
			d.f.Ln(lineH)
		}
	}
}

// field writes "label：value" lines, the label in grey.
func (d *doc) field(label, value string) {
	d.body()
	d.f.SetTextColor(90, 90, 90)
	d.ensure(lineH)
	d.text(pageMargin, d.f.GetY(), 32, lineH, label, "L")
	d.f.SetTextColor(0, 0, 0)
	d.lines(pageMargin+32, d.width()-32, value)
}

// ensure starts a new page unless h mm are left on this one.
func (d *doc) ensure(h float64) {
	if d.f.GetY()+h > d.bottom() {
		d.f.AddPage()
	}
}

// write finishes the document into w.
func (d *doc) write(w io.Writer) error {
	if err := d.f.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	var buf bytes.Buffer
	if err := d.f.Output(&buf); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// table is a table with a header row that is repeated at the top of every
// page it breaks onto. Cells wrap; a row never splits across pages.
type table struct {
	cols   []string
	widths []float64 // fractions of the page width, summing to 1
}

// begin writes the header row and starts repeating it on new pages.
func (t *table) begin(d *doc) {
	d.ensure(lineH * 3)
	d.table = t
	t.writeHeader(d)
}

// end stops repeating the header.
func (t *table) end(d *doc) {
	d.table = nil
	d.f.Ln(1)
}

func (t *table) writeHeader(d *doc) {
	d.size(9)
	d.f.SetFillColor(220, 226, 234)
	ls, h := t.layout(d, t.cols)
	t.writeCells(d, ls, h, true)
	d.body()
}

// row writes one row; it starts a new page (with the header again) if the
// row does not fit on this one.
func (t *table) row(d *doc, cells ...string) {
	d.size(9)
	ls, h := t.layout(d, cells)
	if d.f.GetY()+h > d.bottom() {
		d.f.AddPage() // the header func repeats the header
		d.size(9)
	}
	t.writeCells(d, ls, h, false)
}

const (
	cellLineH = 4.6
	cellPad   = 1.0 // mm, left and right inside a cell
)

// wrap splits one paragraph into lines no wider than w in the current font.
// Chinese text breaks between any two characters; a run of Latin letters or
// digits breaks at its last space when it has one. (fpdf's SplitText drops
// the character it breaks at, so it is not used.)
func (d *doc) wrap(s string, w float64) []string {
	rs := []rune(printable(s))
	if len(rs) == 0 {
		return []string{""}
	}
	var lines []string
	start, space := 0, -1
	width := 0.0
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == ' ' {
			space = i
		}
		cw := d.runeWidth(r)
		if width+cw > w && i > start {
			end := i
			if space > start && r != ' ' && !wide(r) && !wide(rs[i-1]) {
				end = space + 1 // break after the space, keeping the word whole
			}
			lines = append(lines, strings.TrimRight(string(rs[start:end]), " "))
			start, space = end, -1
			width = 0
			for _, q := range rs[start:i] {
				width += d.runeWidth(q)
			}
		}
		width += cw
	}
	return append(lines, string(rs[start:]))
}

// runeWidth is the width of r in the current font, cached per font size.
func (d *doc) runeWidth(r rune) float64 {
	k := widthKey{r, d.pt}
	if w, ok := d.widths[k]; ok {
		return w
	}
	if d.widths == nil {
		d.widths = map[widthKey]float64{}
	}
	d.font(runFont(r))
	w := d.f.GetStringWidth(string(r))
	d.widths[k] = w
	return w
}

type widthKey struct {
	r    rune
	size float64
}

// wide reports whether r is a character lines may break after (CJK and
// full-width punctuation).
func wide(r rune) bool { return r >= 0x2E80 }

// layout wraps each cell and returns the lines and the row's height.
func (t *table) layout(d *doc, cells []string) ([][]string, float64) {
	n := 1
	ls := make([][]string, len(cells))
	for i, c := range cells {
		ls[i] = t.lines(d, c, i)
		n = max(n, len(ls[i]))
	}
	return ls, float64(n)*cellLineH + 1.6
}

func (t *table) lines(d *doc, s string, col int) []string {
	w := t.widths[col] * d.width()
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, d.wrap(para, w-2*cellPad)...)
	}
	return out
}

func (t *table) writeCells(d *doc, cells [][]string, h float64, fill bool) {
	x, y := d.f.GetXY()
	for i, ls := range cells {
		w := t.widths[i] * d.width()
		if fill {
			d.f.Rect(x, y, w, h, "FD")
		} else {
			d.f.Rect(x, y, w, h, "D")
		}
		for j, l := range ls {
			d.text(x+cellPad, y+0.8+float64(j)*cellLineH, w-2*cellPad, cellLineH, l, "L")
		}
		x += w
	}
	d.f.SetXY(pageMargin, y+h)
}
