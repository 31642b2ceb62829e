package syncproto

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"io"
)

// What an attachment's content must be, checked by CheckAttachment on the
// device when a file is attached and on the server before a blob is kept.
const (
	// MaxImageSide is the largest width or height of an attached image.
	MaxImageSide = 10000
	// MaxImageExtraBytes bounds what an image carries besides its pixels:
	// PNG chunks other than IDAT, JPEG APPn/COM segments and anything after
	// a JPEG's end-of-image marker (such as a phone's multi-picture gain map).
	MaxImageExtraBytes = 8 << 20
)

// AttachmentType reports whether contentType is one an attachment may
// have: image/png or image/jpeg.
func AttachmentType(contentType string) bool {
	return contentType == "image/png" || contentType == "image/jpeg"
}

// CheckAttachment reads the size bytes of r and reports, as a
// *ValidationError, why they are not an image of contentType (image/png or
// image/jpeg) that the server keeps: the header must decode as that format
// with both sides 1 to MaxImageSide pixels, and the file must hold that
// image and little else. A PNG is walked chunk by chunk (every CRC checked,
// IHDR first, IEND last and nothing after it) and its image data must
// inflate (Adler-32 checked) to exactly the rows its header declares, each
// with a valid filter byte. A JPEG is walked marker by marker to its
// end-of-image, with at least one scan and scan data no larger than its
// pixels can need. Memory use does not depend on the image's size.
func CheckAttachment(r io.ReaderAt, size int64, contentType string) error {
	switch contentType {
	case "image/png":
		return checkPNG(io.NewSectionReader(r, 0, size))
	case "image/jpeg":
		return checkJPEG(io.NewSectionReader(r, 0, size))
	}
	return errorf("attachment content_type must be image/png or image/jpeg")
}

func checkSides(w, h int) error {
	if w < 1 || h < 1 || w > MaxImageSide || h > MaxImageSide {
		return errorf("the image is %d×%d pixels; each side must be 1 to %d", w, h, MaxImageSide)
	}
	return nil
}

// short is what a read that ends inside a structure becomes.
func short(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf("the file ends inside its %s", what)
	}
	return err
}

// ---- PNG ----

const pngSignature = "\x89PNG\r\n\x1a\n"

func checkPNG(sr *io.SectionReader) error {
	cfg, err := png.DecodeConfig(sr)
	if err != nil {
		return errorf("the file is not a PNG image (%v)", err)
	}
	if err := checkSides(cfg.Width, cfg.Height); err != nil {
		return err
	}
	if _, err := sr.Seek(0, io.SeekStart); err != nil {
		return err
	}
	p := &pngWalker{r: bufio.NewReaderSize(sr, 64<<10)}
	var sig [8]byte
	if _, err := io.ReadFull(p.r, sig[:]); err != nil || string(sig[:]) != pngSignature {
		return errorf("the file is not a PNG image (bad signature)")
	}
	var (
		ihdr           []byte
		sawPLTE, sawID bool
		extra          int64
	)
	for first := true; ; first = false {
		n, typ, err := p.header()
		if err != nil {
			return short(err, "PNG chunks")
		}
		if first != (typ == "IHDR") {
			return errorf("the PNG's first chunk must be its only IHDR")
		}
		switch typ {
		case "IDAT":
			if sawID {
				return errorf("the PNG's image data (IDAT) is not in one run of chunks")
			}
			if ihdr == nil || ihdr[9] == 3 && !sawPLTE {
				return errorf("the PNG's image data comes before its header or palette")
			}
			sawID = true
			if err := p.inflate(n, ihdr); err != nil {
				return err
			}
			continue // p.inflate has read the header of the chunk after the run
		case "IEND":
			if n != 0 {
				return errorf("the PNG's IEND chunk is not empty")
			}
			if err := p.skip(0); err != nil {
				return short(err, "IEND chunk")
			}
			if !sawID {
				return errorf("the PNG has no image data")
			}
			if rest, _ := io.Copy(io.Discard, p.r); rest > 0 {
				return errorf("%d bytes follow the PNG's end", rest)
			}
			return nil
		}
		extra += int64(n) + 12
		if extra > MaxImageExtraBytes {
			return errorf("the PNG carries more than %d bytes besides its pixels", MaxImageExtraBytes)
		}
		if typ == "IHDR" {
			if n != 13 {
				return errorf("the PNG's IHDR chunk is not 13 bytes")
			}
			if ihdr, err = p.data(n); err != nil {
				return short(err, "IHDR chunk")
			}
			continue
		}
		if typ == "PLTE" {
			sawPLTE = true
		}
		if err := p.skip(n); err != nil {
			return short(err, typ+" chunk")
		}
	}
}

// pngWalker reads a PNG's chunks, checking each one's CRC.
type pngWalker struct {
	r   *bufio.Reader
	crc uint32 // of the current chunk's type and the data read so far
	// a chunk header idatReader read past the image data, for header
	pending    bool
	pendingN   uint32
	pendingTyp string
}

// header reads the next chunk's length and type; a header p.inflate read
// ahead comes first.
func (p *pngWalker) header() (uint32, string, error) {
	if p.pending {
		p.pending = false
		return p.pendingN, p.pendingTyp, nil
	}
	var h [8]byte
	if _, err := io.ReadFull(p.r, h[:]); err != nil {
		return 0, "", err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n > 1<<31-1 {
		return 0, "", errorf("a PNG chunk is longer than 2^31-1 bytes")
	}
	p.crc = crc32.Update(0, crc32.IEEETable, h[4:])
	return n, string(h[4:]), nil
}

// data reads a whole (small) chunk's data and its CRC.
func (p *pngWalker) data(n uint32) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(p.r, b); err != nil {
		return nil, err
	}
	p.crc = crc32.Update(p.crc, crc32.IEEETable, b)
	return b, p.checkCRC()
}

// skip reads past a chunk's data, then checks its CRC.
func (p *pngWalker) skip(n uint32) error {
	if _, err := io.CopyN(crcWriter{&p.crc}, p.r, int64(n)); err != nil {
		return err
	}
	return p.checkCRC()
}

func (p *pngWalker) checkCRC() error {
	var c [4]byte
	if _, err := io.ReadFull(p.r, c[:]); err != nil {
		return short(err, "PNG chunk CRC")
	}
	if binary.BigEndian.Uint32(c[:]) != p.crc {
		return errorf("a PNG chunk's CRC does not match its content")
	}
	return nil
}

type crcWriter struct{ crc *uint32 }

func (w crcWriter) Write(b []byte) (int, error) {
	*w.crc = crc32.Update(*w.crc, crc32.IEEETable, b)
	return len(b), nil
}

// inflate decompresses the run of IDAT chunks that starts with one of n
// bytes and checks it against the header: exactly the declared rows, each
// starting with a filter type 0 to 4, and nothing after the zlib stream.
func (p *pngWalker) inflate(n uint32, ihdr []byte) error {
	w, h := int64(binary.BigEndian.Uint32(ihdr[0:])), int64(binary.BigEndian.Uint32(ihdr[4:]))
	depth, color, interlace := int64(ihdr[8]), ihdr[9], ihdr[12]
	channels := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
	bits := channels * depth
	// rows lists each pass's rows and row length (filter byte included).
	var rows [][2]int64
	stride := func(pw int64) int64 { return 1 + (pw*bits+7)/8 }
	if interlace == 0 {
		rows = append(rows, [2]int64{h, stride(w)})
	} else {
		for _, a := range [7][4]int64{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			pw, ph := (w-a[0]+a[2]-1)/a[2], (h-a[1]+a[3]-1)/a[3]
			if pw > 0 && ph > 0 {
				rows = append(rows, [2]int64{ph, stride(pw)})
			}
		}
	}
	var raw int64
	for _, r := range rows {
		raw += r[0] * r[1]
	}
	ir := &idatReader{p: p, left: n, limit: raw + raw/64 + 64<<10}
	zr, err := zlib.NewReader(ir)
	if err != nil {
		return ir.fail(err, "the PNG's image data is not a zlib stream")
	}
	fw := &filterWriter{rows: rows}
	got, err := io.Copy(fw, io.LimitReader(zr, raw+1))
	if err == nil && got == raw {
		// The stream must end here, with its checksum.
		var one [1]byte
		if k, rerr := zr.Read(one[:]); k > 0 {
			got++
		} else if rerr != io.EOF {
			err = rerr
		}
	}
	if err != nil {
		return ir.fail(err, "the PNG's image data does not decompress")
	}
	if got != raw {
		return errorf("the PNG's image data holds %s, not the %d bytes its %d×%d header needs", sizeWord(got, raw), raw, w, h)
	}
	if err := fw.err; err != nil {
		return err
	}
	// Nothing may follow the zlib stream in the IDAT run (beyond what the
	// decompressor read ahead).
	if rest, err := io.Copy(io.Discard, ir); err != nil {
		return ir.fail(err, "the PNG's image data is corrupt")
	} else if rest > 0 {
		return errorf("%d bytes follow the PNG's compressed image data", rest)
	}
	return nil
}

func sizeWord(got, raw int64) string {
	if got > raw {
		return "more"
	}
	return "fewer bytes"
}

// idatReader reads the data of consecutive IDAT chunks as one stream,
// checking each chunk's CRC as it ends and their total against a bound; at
// the first other chunk it stops and leaves that chunk's header for
// pngWalker.header. (The decompressor reads ahead a few KB, so bytes after
// the zlib stream are caught beyond that, and by the bound.)
type idatReader struct {
	p     *pngWalker
	left  uint32 // of the current chunk
	done  bool
	total int64 // IDAT bytes read
	limit int64 // the most IDAT bytes the image can need
	err   error // a structural error, reported in place of the decompressor's
}

func (ir *idatReader) next() error {
	for ir.left == 0 {
		if ir.done {
			return io.EOF
		}
		if err := ir.p.checkCRC(); err != nil {
			ir.err = err
			return err
		}
		n, typ, err := ir.p.header()
		if err != nil {
			ir.err = short(err, "PNG chunks")
			return ir.err
		}
		if typ != "IDAT" {
			ir.p.pending, ir.p.pendingN, ir.p.pendingTyp = true, n, typ
			ir.done = true
			return io.EOF
		}
		ir.left = n
	}
	return nil
}

func (ir *idatReader) Read(b []byte) (int, error) {
	if err := ir.next(); err != nil {
		return 0, err
	}
	if uint32(len(b)) > ir.left {
		b = b[:ir.left]
	}
	k, err := ir.p.r.Read(b)
	ir.count(b[:k])
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return k, ir.over(err)
}

func (ir *idatReader) count(b []byte) {
	ir.left -= uint32(len(b))
	ir.total += int64(len(b))
	ir.p.crc = crc32.Update(ir.p.crc, crc32.IEEETable, b)
}

func (ir *idatReader) over(err error) error {
	if err == nil && ir.total > ir.limit {
		ir.err = errorf("the PNG's compressed image data is far larger than its pixels can need")
		return ir.err
	}
	return err
}

// fail reports a structural error found while reading over err.
func (ir *idatReader) fail(err error, what string) error {
	if ir.err != nil {
		return ir.err
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf("the file ends inside the PNG's image data")
	}
	return errorf("%s (%v)", what, err)
}

// filterWriter checks that each row of inflated PNG data starts with a
// valid filter type.
type filterWriter struct {
	rows [][2]int64 // rows, stride per pass
	pass int
	row  int64
	pos  int64 // within the current row
	err  error
}

func (f *filterWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && f.err == nil {
		if f.pass >= len(f.rows) {
			return n, nil // past the image: counted as too long by the caller
		}
		stride := f.rows[f.pass][1]
		if f.pos == 0 && b[0] > 4 {
			f.err = errorf("a row of the PNG has an unknown filter type %d", b[0])
			break
		}
		k := min(int64(len(b)), stride-f.pos)
		b = b[k:]
		f.pos += k
		if f.pos == stride {
			f.pos = 0
			if f.row++; f.row == f.rows[f.pass][0] {
				f.pass, f.row = f.pass+1, 0
			}
		}
	}
	return n, nil
}

// ---- JPEG ----

func checkJPEG(sr *io.SectionReader) error {
	cfg, err := jpeg.DecodeConfig(sr)
	if err != nil {
		return errorf("the file is not a JPEG image (%v)", err)
	}
	if err := checkSides(cfg.Width, cfg.Height); err != nil {
		return err
	}
	if _, err := sr.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(sr, 64<<10)
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return errorf("the file is not a JPEG image (no start-of-image marker)")
	}
	var (
		extra, scan int64
		scans       int
		components  int64 = 3
	)
	for {
		m, stray, err := nextMarker(r)
		if err != nil {
			return short(err, "JPEG segments")
		}
		if extra += stray; extra > MaxImageExtraBytes {
			return errorf("the JPEG carries more than %d bytes besides its pixels", MaxImageExtraBytes)
		}
		switch {
		case m == 0xD9: // EOI
			if scans == 0 {
				return errorf("the JPEG has no image data")
			}
			rest, err := io.Copy(io.Discard, r)
			if err != nil {
				return err
			}
			if extra += rest; extra > MaxImageExtraBytes {
				return errorf("the JPEG carries more than %d bytes besides its pixels", MaxImageExtraBytes)
			}
			// Scan data beyond what the pixels can need at the highest
			// quality (about 3.4 bytes a sample, more with byte stuffing).
			if limit := 8*int64(cfg.Width)*int64(cfg.Height)*components + 64<<10; scan > limit {
				return errorf("the JPEG's image data is far larger than its %d×%d pixels can need", cfg.Width, cfg.Height)
			}
			return nil
		case m >= 0xD0 && m <= 0xD7, m == 0x01: // RSTn, TEM: no length
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return short(err, "JPEG segments")
		}
		n := int64(binary.BigEndian.Uint16(l[:]))
		if n < 2 {
			return errorf("a JPEG segment has a bad length")
		}
		seg := &io.LimitedReader{R: r, N: n - 2}
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // SOFn
			var sof [6]byte
			if _, err := io.ReadFull(seg, sof[:]); err != nil {
				return short(err, "JPEG frame header")
			}
			components = int64(sof[5])
		}
		// Every segment (tables, metadata) counts as what is not pixels.
		if extra += n + 2; extra > MaxImageExtraBytes {
			return errorf("the JPEG carries more than %d bytes besides its pixels", MaxImageExtraBytes)
		}
		if _, err := io.Copy(io.Discard, seg); err != nil {
			return err
		} else if seg.N > 0 {
			return errorf("the file ends inside a JPEG segment")
		}
		if m == 0xDA { // SOS: entropy-coded data up to the next marker
			scans++
			k, err := skipScan(r)
			if err != nil {
				return short(err, "JPEG image data")
			}
			scan += k
		}
	}
}

// nextMarker reads a marker (0xFF, any fill 0xFF bytes, the code) and
// returns how many stray bytes came before it: like libjpeg (and Go's
// decoder), a few bytes of junk between segments are tolerated, and
// counted with what is not pixels.
func nextMarker(r *bufio.Reader) (byte, int64, error) {
	var stray int64
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, stray, err
		}
		if c != 0xFF {
			stray++
			if stray > MaxImageExtraBytes {
				return 0, stray, errorf("the JPEG carries more than %d bytes besides its pixels", MaxImageExtraBytes)
			}
			continue
		}
		for c == 0xFF {
			if c, err = r.ReadByte(); err != nil {
				return 0, stray, err
			}
		}
		if c != 0 {
			return c, stray, nil
		}
		stray += 2 // 0xFF 0x00 outside a scan: junk too
	}
}

// skipScan reads entropy-coded data up to the next marker other than a
// stuffed byte or a restart marker, leaves that marker unread and returns
// how many bytes it read.
func skipScan(r *bufio.Reader) (int64, error) {
	var n int64
	for {
		buf, err := r.Peek(r.Buffered())
		if len(buf) == 0 {
			if _, err = r.Peek(1); err != nil {
				return n, err
			}
			continue
		}
		i := bytes.IndexByte(buf, 0xFF)
		if i < 0 {
			r.Discard(len(buf))
			n += int64(len(buf))
			continue
		}
		r.Discard(i)
		n += int64(i)
		two, err := r.Peek(2)
		if err != nil {
			return n, err
		}
		if c := two[1]; c == 0x00 || c >= 0xD0 && c <= 0xD7 || c == 0xFF {
			// A stuffed 0xFF, a restart marker, or fill before a marker.
			if c == 0xFF {
				r.Discard(1)
				n++
				continue
			}
			r.Discard(2)
			n += 2
			continue
		}
		return n, nil
	}
}
