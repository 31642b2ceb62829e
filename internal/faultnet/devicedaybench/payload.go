// Package devicedaybench is the harness for the device-day sync benchmark:
// one inspector's day (20 packets, 40 signatures of ~30 KB, 100 photos of
// ~300 KB) synced through a faultnet proxy shaped like a vehicle's link
// (1 Mbit/s up, 150 ms RTT, a cut every ~2 minutes).
//
// It knows nothing about the SDK or the server: Generate builds the payload,
// the caller loads it into a device however the SDK wants, and Run drives
// the caller's sync function through the proxy and measures wall time, bytes
// on the wire, connections, cuts and round trips. See Run.
package devicedaybench

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Spec sizes a device-day.
type Spec struct {
	Packets, PacketBytes       int // packet JSON (compressible, like real JSON)
	Signatures, SignatureBytes int // PNG signatures
	Photos, PhotoBytes         int // JPEG photos
}

// DeviceDay is the day of issue 4 §6 and the research anchors (≈31.4 MB).
func DeviceDay() Spec {
	return Spec{
		Packets: 20, PacketBytes: 10_000,
		Signatures: 40, SignatureBytes: 30_000,
		Photos: 100, PhotoBytes: 300_000,
	}
}

// Kind of an item.
type Kind string

const (
	KindPacket    Kind = "packet"
	KindSignature Kind = "signature"
	KindPhoto     Kind = "photo"
)

// Item is one piece of the day's data.
type Item struct {
	Kind        Kind
	Name        string // file name, unique within the payload
	ContentType string
	Data        []byte
	SHA256      string // lower-case hex, as attachments are addressed
}

// Payload is a generated device-day.
type Payload struct {
	Seed  uint64
	Items []Item
}

// Bytes is the payload size: what an ideal link would carry.
func (p Payload) Bytes() int64 {
	var n int64
	for _, it := range p.Items {
		n += int64(len(it.Data))
	}
	return n
}

// OfKind returns the items of one kind, in order.
func (p Payload) OfKind(k Kind) []Item {
	var out []Item
	for _, it := range p.Items {
		if it.Kind == k {
			out = append(out, it)
		}
	}
	return out
}

// WriteDir writes every item to dir under its Name, for a CLI or an SDK
// that attaches files from disk.
func (p Payload) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, it := range p.Items {
		if err := os.WriteFile(filepath.Join(dir, it.Name), it.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Generate builds a payload deterministically from seed. Images are random
// pixels (PNG) or scan bytes (JPEG) in a valid structure: incompressible like
// real photos, so gzip cannot flatter the wire figures, and accepted by
// syncproto.CheckAttachment as the server requires.
func Generate(seed uint64, s Spec) Payload {
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	p := Payload{Seed: seed}
	add := func(k Kind, name, ct string, data []byte) {
		sum := sha256.Sum256(data)
		p.Items = append(p.Items, Item{Kind: k, Name: name, ContentType: ct, Data: data, SHA256: hex.EncodeToString(sum[:])})
	}
	for i := range s.Packets {
		add(KindPacket, fmt.Sprintf("packet-%02d.json", i+1), "application/json", packetJSON(r, i, s.PacketBytes))
	}
	for i := range s.Signatures {
		add(KindSignature, fmt.Sprintf("signature-%02d.png", i+1), "image/png", fakePNG(r, s.SignatureBytes))
	}
	for i := range s.Photos {
		add(KindPhoto, fmt.Sprintf("photo-%03d.jpg", i+1), "image/jpeg", fakeJPEG(r, s.PhotoBytes))
	}
	return p
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

// packetJSON is a checklist-shaped JSON document of about n bytes; its
// repetitive keys compress the way real packet JSON does.
func packetJSON(r *rand.Rand, i, n int) []byte {
	type answer struct {
		Department string `json:"department"`
		ItemCode   string `json:"item_code"`
		Result     string `json:"result"`
		Note       string `json:"note"`
	}
	results := []string{"compliant", "non_compliant", "not_applicable"}
	doc := struct {
		Packet  string   `json:"packet"`
		Answers []answer `json:"answers"`
	}{Packet: fmt.Sprintf("P-%04d", i+1)}
	var out []byte
	for k := 0; len(out) < n; k++ {
		doc.Answers = append(doc.Answers, answer{
			Department: []string{"culture", "market"}[k%2],
			ItemCode:   fmt.Sprintf("WH-%02d", k+1),
			Result:     results[r.IntN(len(results))],
			Note:       fmt.Sprintf("checked at %02d:%02d, %d terminals, licence on the wall", 8+r.IntN(10), r.IntN(60), r.IntN(200)),
		})
		out, _ = json.Marshal(doc)
	}
	return out
}

// fakePNG is a real 600-pixel-wide 8-bit greyscale PNG of random pixels,
// stored uncompressed (as incompressible as a photo): about n bytes in all.
func fakePNG(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(data)))
		b.Write(l[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.BigEndian.PutUint32(l[:], crc.Sum32())
		b.Write(l[:])
	}
	const width, overhead = 600, 8 + 25 + 12 + 12 + 6
	height := max((n-overhead)/(width+1), 1)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	chunk("IHDR", ihdr)
	rows := randomBytes(r, height*(width+1))
	for y := range height {
		rows[y*(width+1)] = 0 // filter: none
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.NoCompression)
	zw.Write(rows)
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// fakeJPEG is a JPEG's structure around random scan bytes: SOI, a JFIF
// APP0, a 1600×1200 baseline frame header, a scan header, the scan and
// EOI; about n bytes in all. Its header decodes; its pixels do not matter.
func fakeJPEG(r *rand.Rand, n int) []byte {
	head := []byte{
		0xFF, 0xD8, // SOI
		0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00, // APP0
		0xFF, 0xC0, 0x00, 0x11, 0x08, 0x04, 0xB0, 0x06, 0x40, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00, // SOF0
		0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x3F, 0x00, // SOS
	}
	body := randomBytes(r, max(n-len(head)-2, 1))
	// No marker may appear inside the scan: a 0xFF is always followed by 0x00.
	for i := 0; i < len(body)-1; i++ {
		if body[i] == 0xFF {
			body[i+1] = 0x00
		}
	}
	body[len(body)-1] &= 0xFE // never 0xFF right before EOI
	out := append(head, body...)
	return append(out, 0xFF, 0xD9) // EOI
}
