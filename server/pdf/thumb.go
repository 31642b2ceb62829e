package pdf

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // decode PNG attachments
	"net/http"

	"golang.org/x/image/draw"
)

// Photos are embedded as thumbnails: an image larger than thumbMaxPx on a
// side or thumbMaxBytes is scaled down and re-encoded as JPEG, so a record
// with ten full-size phone photos stays a few hundred kilobytes. Small
// images (signatures, stamps) are embedded as they are.
const (
	thumbMaxPx    = 800
	thumbMaxBytes = 150 << 10
	thumbQuality  = 80
)

// embeddable returns the bytes to embed for an attachment and their fpdf
// image type ("PNG" or "JPG"); ok is false for bytes that are neither a PNG
// nor a JPEG, or that do not decode.
func embeddable(data []byte) (out []byte, tp string, ok bool) {
	switch http.DetectContentType(data) {
	case "image/png":
		tp = "PNG"
	case "image/jpeg":
		tp = "JPG"
	default:
		return nil, "", false
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", false
	}
	if len(data) <= thumbMaxBytes && cfg.Width <= thumbMaxPx && cfg.Height <= thumbMaxPx {
		return data, tp, true
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", false
	}
	w, h := cfg.Width, cfg.Height
	if w > thumbMaxPx || h > thumbMaxPx {
		if w >= h {
			w, h = thumbMaxPx, max(1, h*thumbMaxPx/w)
		} else {
			w, h = max(1, w*thumbMaxPx/h), thumbMaxPx
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// White under any transparency: JPEG has none.
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, "", false
	}
	return buf.Bytes(), "JPG", true
}
