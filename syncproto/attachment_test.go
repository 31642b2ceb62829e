package syncproto_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func noise(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7919 + i/3)
	}
	return img
}

// chunk is one PNG chunk with its CRC.
func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// rawPNG builds a greyscale 8-bit PNG of w×h from the given inflated rows
// (filter bytes included) and extra chunks placed before IDAT.
func rawPNG(w, h uint32, rows []byte, extra ...[]byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(rows)
	zw.Close()
	out := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	for _, e := range extra {
		out = append(out, e...)
	}
	out = append(out, chunk("IDAT", z.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}

func check(b []byte, ct string) error {
	return syncproto.CheckAttachment(bytes.NewReader(b), int64(len(b)), ct)
}

func TestCheckAttachment_Accepts(t *testing.T) {
	gray := image.NewGray16(image.Rect(0, 0, 33, 17))
	for i := range gray.Pix {
		gray.Pix[i] = byte(i)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 9, 5), color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = byte(i % 3)
	}
	jpg := encodeJPEG(t, noise(64, 48))
	// A few stray bytes between segments, which libjpeg and Go's decoder
	// tolerate.
	sos := bytes.Index(jpg, []byte{0xFF, 0xDA})
	stray := append(append(bytes.Clone(jpg[:sos]), 1, 2, 3), jpg[sos:]...)
	if _, err := jpeg.Decode(bytes.NewReader(stray)); err != nil {
		t.Fatalf("the decoder refuses stray bytes: %v", err)
	}
	for name, tt := range map[string]struct {
		b  []byte
		ct string
	}{
		"jpeg stray bytes":  {stray, "image/jpeg"},
		"png rgba":          {encodePNG(t, noise(40, 30)), "image/png"},
		"png gray16":        {encodePNG(t, gray), "image/png"},
		"png paletted":      {encodePNG(t, pal), "image/png"},
		"png 1x1":           {encodePNG(t, noise(1, 1)), "image/png"},
		"png hand-built":    {rawPNG(3, 2, []byte{0, 1, 2, 3, 4, 5, 6, 7}), "image/png"},
		"jpeg":              {jpg, "image/jpeg"},
		"jpeg gray":         {encodeJPEG(t, image.NewGray(image.Rect(0, 0, 10, 10))), "image/jpeg"},
		"jpeg trailing map": {append(bytes.Clone(jpg), encodeJPEG(t, noise(8, 8))...), "image/jpeg"},
	} {
		if err := check(tt.b, tt.ct); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckAttachment_Refuses(t *testing.T) {
	good := encodePNG(t, noise(40, 30))
	jpg := encodeJPEG(t, noise(64, 48))
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1 // IEND's CRC
	short := rawPNG(3, 3, []byte{0, 1, 2, 3, 4, 5, 6, 7})
	long := rawPNG(3, 1, []byte{0, 1, 2, 3, 4, 5, 6, 7})
	badFilter := rawPNG(3, 2, []byte{0, 1, 2, 3, 9, 5, 6, 7})
	big := rawPNG(20000, 1, make([]byte, 20001))
	text := rawPNG(1, 1, []byte{0, 0}, chunk("tEXt", make([]byte, syncproto.MaxImageExtraBytes)))
	// Extra bytes after the zlib stream, inside the IDAT run.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte{0, 1})
	zw.Close()
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 1)
	binary.BigEndian.PutUint32(ihdr[4:], 1)
	ihdr[8] = 8
	trailingIDAT := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	trailingIDAT = append(trailingIDAT, chunk("IDAT", append(z.Bytes(), make([]byte, 1<<20)...))...)
	trailingIDAT = append(trailingIDAT, chunk("IEND", nil)...)
	// A 1×1 JPEG whose scan data is padded to 2 MB.
	tiny := encodeJPEG(t, noise(1, 1))
	sos := bytes.LastIndex(tiny, []byte{0xFF, 0xDA})
	fat := append(bytes.Clone(tiny[:len(tiny)-2]), bytes.Repeat([]byte{0x55}, 2<<20)...)
	fat = append(fat, 0xFF, 0xD9)
	if sos < 0 {
		t.Fatal("no SOS in the encoded JPEG")
	}

	for name, tt := range map[string]struct {
		b    []byte
		ct   string
		want string
	}{
		"html as png":          {[]byte("<!doctype html><html><script>alert(1)</script></html>"), "image/png", "not a PNG"},
		"zeros as png":         {make([]byte, 1<<20), "image/png", "not a PNG"},
		"png as jpeg":          {good, "image/jpeg", "not a JPEG"},
		"jpeg as png":          {jpg, "image/png", "not a PNG"},
		"text/plain":           {good, "text/plain", "content_type"},
		"png garbage after":    {append(bytes.Clone(good), make([]byte, 1<<20)...), "image/png", "follow the PNG's end"},
		"png cut short":        {good[:len(good)-20], "image/png", "ends inside"},
		"png bad crc":          {badCRC, "image/png", "CRC"},
		"png too few rows":     {short, "image/png", "not the"},
		"png too many rows":    {long, "image/png", "not the"},
		"png bad filter":       {badFilter, "image/png", "filter"},
		"png too wide":         {big, "image/png", "each side"},
		"png huge text chunk":  {text, "image/png", "besides its pixels"},
		"png data after zlib":  {trailingIDAT, "image/png", "image data"},
		"jpeg cut short":       {jpg[:len(jpg)/2], "image/jpeg", "ends inside"},
		"jpeg fat scan":        {fat, "image/jpeg", "far larger"},
		"jpeg huge trailer":    {append(bytes.Clone(jpg), make([]byte, syncproto.MaxImageExtraBytes)...), "image/jpeg", "besides its pixels"},
		"jpeg header only":     {jpg[:sos], "image/jpeg", "JPEG"},
		"empty":                {nil, "image/png", "not a PNG"},
		"png signature + html": {append([]byte("\x89PNG\r\n\x1a\n"), "<html>"...), "image/png", "not a PNG"},
	} {
		err := check(tt.b, tt.ct)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if _, ok := err.(*syncproto.ValidationError); !ok {
			t.Errorf("%s: %T %v, want a *ValidationError", name, err, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want it to mention %q", name, err, tt.want)
		}
	}
}

// CheckAttachment never panics and never accepts what the standard
// decoders reject.
func FuzzCheckAttachment(f *testing.F) {
	f.Add(encodePNG(&testing.T{}, noise(7, 5)), true)
	f.Add(rawPNG(3, 2, []byte{0, 1, 2, 3, 4, 5, 6, 7}), true)
	f.Add(encodeJPEG(&testing.T{}, noise(9, 9)), false)
	f.Add([]byte("\x89PNG\r\n\x1a\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, asPNG bool) {
		ct := "image/jpeg"
		if asPNG {
			ct = "image/png"
		}
		if err := check(b, ct); err != nil {
			return
		}
		var derr error
		if asPNG {
			_, derr = png.Decode(bytes.NewReader(b))
		} else {
			_, derr = jpeg.DecodeConfig(bytes.NewReader(b))
		}
		if derr != nil {
			t.Fatalf("accepted what the decoder refuses: %v", derr)
		}
	})
}
