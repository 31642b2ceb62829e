package server

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Limits on what ReadDeviceExport takes from an archive, after
// decompression, so a small compressed body cannot expand without bound.
const (
	MaxExportManifestBytes = 1 << 20
	MaxExportListBytes     = 256 << 20 // outbox.jsonl, records.jsonl, rejections.jsonl each
	MaxExportTotalBytes    = 4 << 30   // everything in the archive together
)

// DeviceExport is a device's export archive (syncproto.ExportFormat), read
// and checked by ReadDeviceExport: the device it claims to come from, its
// outbox in order, and its attachments, each spooled to a verified file.
type DeviceExport struct {
	DeviceID  int64
	PublicKey []byte
	// Mutations are the outbox, seq increasing without gaps; Raw holds
	// each as it appears in the archive, for the mutation log.
	Mutations   []syncproto.Mutation
	Raw         []json.RawMessage
	Attachments []ExportAttachment

	refs map[string]bool // every attachment the outbox refers to
}

// ExportAttachment is one attachments/SHA256 file of an export: its content
// hashes to SHA256 and is a PNG or JPEG of at most syncproto.MaxAttachmentBytes.
type ExportAttachment struct {
	SHA256      string
	Size        int64
	ContentType string
	Path        string // a file in the directory given to ReadDeviceExport
}

// exportManifest is the part of manifest.json the server reads.
type exportManifest struct {
	Format      string   `json:"format"`
	DeviceID    int64    `json:"device_id"`
	PublicKey   string   `json:"public_key"`
	Attachments []string `json:"attachments"`
}

// errExport is the EINVALID every malformed archive gets.
func errExport(format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	return Errorf(EINVALID, "导出文件无效：%s (invalid export archive: %s).", detail, detail)
}

// ReadDeviceExport reads a device's export from r, a gzip-compressed tar
// whose first entry is manifest.json, and checks everything in it that does
// not depend on the server's state: the format, the manifest's device and
// key, each outbox line (decoded strictly and valid on its own, seqs
// increasing by one), and each attachment (listed in the manifest, after
// outbox.jsonl, and every attachment the manifest lists present). Only the
// attachments a mutation of the outbox refers to are taken: each must hash
// to its name and be a PNG or JPEG within size whose content passes
// syncproto.CheckAttachment (EREFUSED otherwise); the others are read past.
// The taken ones are written to files in dir, which the caller owns and
// removes. Any other fault is EINVALID; nothing is written elsewhere.
func ReadDeviceExport(r io.Reader, dir string) (*DeviceExport, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, errExport("不是gzip文件 (not gzip: %v)", err)
	}
	tr := tar.NewReader(&limitedReader{r: zr, n: MaxExportTotalBytes})
	var (
		out      DeviceExport
		manifest *exportManifest
		listed   = map[string]bool{}
		seen     = map[string]bool{}
	)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, errExportTooLarge) {
				return nil, errExportDecompressed
			}
			return nil, errExport("归档损坏 (corrupt archive: %v)", err)
		}
		name := hdr.Name
		if hdr.Typeflag != tar.TypeReg {
			return nil, errExport("%q不是普通文件 (%q is not a regular file)", name, name)
		}
		if seen[name] {
			return nil, errExport("%q出现两次 (%q appears twice)", name, name)
		}
		seen[name] = true
		if manifest == nil && name != "manifest.json" {
			return nil, errExport("首个文件须为manifest.json (manifest.json must come first)")
		}
		switch {
		case name == "manifest.json":
			b, err := readEntry(tr, hdr, MaxExportManifestBytes)
			if err != nil {
				return nil, err
			}
			if manifest, err = readManifest(b, listed); err != nil {
				return nil, err
			}
			out.DeviceID = manifest.DeviceID
			out.PublicKey, _ = base64.StdEncoding.DecodeString(manifest.PublicKey)
		case name == "outbox.jsonl":
			b, err := readEntry(tr, hdr, MaxExportListBytes)
			if err != nil {
				return nil, err
			}
			if err := readOutbox(b, &out); err != nil {
				return nil, err
			}
		case name == "records.jsonl" || name == "rejections.jsonl":
			// Copies for the inspector's own records: the seals arrive as
			// the outbox's seal mutations, the rejections are on the
			// server already. Read past them.
			if _, err := readEntry(tr, hdr, MaxExportListBytes); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, "attachments/"):
			sha := strings.TrimPrefix(name, "attachments/")
			if !syncproto.ValidSHA256(sha) || !listed[sha] {
				return nil, errExport("附件%q不在清单中 (attachment %q is not in the manifest)", sha, sha)
			}
			if !seen["outbox.jsonl"] {
				return nil, errExport("outbox.jsonl须在附件之前 (outbox.jsonl must come before the attachments)")
			}
			if !out.refers(sha) {
				// Kept on the device for the inspector's own records (a
				// sealed record already synced): the server takes only what
				// the outbox still needs.
				if _, err := io.Copy(io.Discard, tr); err != nil {
					if errors.Is(err, errExportTooLarge) {
						return nil, errExportDecompressed
					}
					return nil, errExport("附件%s读取失败 (attachment %s is cut short: %v)", sha, sha, err)
				}
				continue
			}
			a, err := spoolAttachment(tr, hdr, sha, dir)
			if err != nil {
				return nil, err
			}
			out.Attachments = append(out.Attachments, *a)
		default:
			return nil, errExport("未知文件%q (unknown file %q)", name, name)
		}
	}
	if manifest == nil {
		return nil, errExport("缺少manifest.json (manifest.json is missing)")
	}
	for _, sha := range manifest.Attachments {
		if !seen["attachments/"+sha] {
			return nil, errExport("缺少附件%s (attachment %s is missing)", sha, sha)
		}
	}
	return &out, checkExportRefs(&out)
}

// errExportTooLarge ends reading an archive past MaxExportTotalBytes;
// errExportDecompressed is what the caller is told.
var (
	errExportTooLarge     = errors.New("export archive over its size limit")
	errExportDecompressed = Errorf(ETOOLARGE, "导出文件解压后过大 (the export is too large once decompressed).")
)

// limitedReader fails with errExportTooLarge past n bytes (io.LimitReader
// would end quietly, which would look like a short archive).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errExportTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// readEntry reads one entry of at most limit bytes.
func readEntry(tr *tar.Reader, hdr *tar.Header, limit int64) ([]byte, error) {
	if hdr.Size > limit {
		return nil, Errorf(ETOOLARGE, "导出文件中%s过大 (%s in the export is too large).", hdr.Name, hdr.Name)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		if errors.Is(err, errExportTooLarge) {
			return nil, errExportDecompressed
		}
		return nil, errExport("%s读取失败 (%s is cut short: %v)", hdr.Name, hdr.Name, err)
	}
	return b, nil
}

func readManifest(b []byte, listed map[string]bool) (*exportManifest, error) {
	var m exportManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errExport("manifest.json无法解析 (manifest.json does not decode: %v)", err)
	}
	if m.Format != syncproto.ExportFormat {
		return nil, errExport("格式须为%s，收到%q (format must be %s, got %q)", syncproto.ExportFormat, m.Format, syncproto.ExportFormat, m.Format)
	}
	if m.DeviceID <= 0 {
		return nil, errExport("清单缺少设备编号 (the manifest names no device)")
	}
	if k, err := base64.StdEncoding.DecodeString(m.PublicKey); err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errExport("清单中的公钥无效 (the manifest's public key is not a 32-byte Ed25519 key)")
	}
	for _, sha := range m.Attachments {
		if !syncproto.ValidSHA256(sha) || listed[sha] {
			return nil, errExport("清单中的附件%q无效或重复 (attachment %q in the manifest is malformed or repeated)", sha, sha)
		}
		listed[sha] = true
	}
	return &m, nil
}

// readOutbox decodes outbox.jsonl: one mutation a line, strictly.
func readOutbox(b []byte, out *DeviceExport) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for line := 1; sc.Scan(); line++ {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		var m syncproto.Mutation
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return errExport("outbox.jsonl第%d行无法解析 (outbox.jsonl line %d does not decode: %v)", line, line, err)
		}
		if dec.More() {
			return errExport("outbox.jsonl第%d行多于一条变更 (outbox.jsonl line %d holds more than one mutation)", line, line)
		}
		if err := m.Validate(); err != nil {
			return errExport("outbox.jsonl第%d行的变更无效 (outbox.jsonl line %d: invalid mutation: %v)", line, line, err)
		}
		if n := len(out.Mutations); m.Seq == 0 || n > 0 && m.Seq != out.Mutations[n-1].Seq+1 {
			return errExport("outbox.jsonl第%d行的序号%d不连续 (outbox.jsonl line %d: seq %d does not follow the previous line)", line, m.Seq, line, m.Seq)
		}
		out.Mutations = append(out.Mutations, m)
		out.Raw = append(out.Raw, json.RawMessage(bytes.Clone(l)))
	}
	return sc.Err()
}

// spoolAttachment copies one attachment to a file in dir, hashing it on the way.
func spoolAttachment(tr *tar.Reader, hdr *tar.Header, sha, dir string) (*ExportAttachment, error) {
	if hdr.Size <= 0 || hdr.Size > syncproto.MaxAttachmentBytes {
		return nil, errExport("附件%s须为1至%d字节 (attachment %s must be 1 to %d bytes)", sha, syncproto.MaxAttachmentBytes, sha, syncproto.MaxAttachmentBytes)
	}
	f, err := os.CreateTemp(dir, "attachment-*")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	head := &headWriter{max: 512}
	n, err := io.Copy(io.MultiWriter(f, h, head), tr)
	if err != nil {
		if errors.Is(err, errExportTooLarge) {
			return nil, errExportDecompressed
		}
		return nil, errExport("附件%s读取失败 (attachment %s is cut short: %v)", sha, sha, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return nil, errExport("附件%s内容与其SHA-256不符 (attachment %s does not match its sha256)", sha, sha)
	}
	ct := http.DetectContentType(head.b)
	if !syncproto.AttachmentType(ct) {
		return nil, errExport("附件%s须为PNG或JPEG (attachment %s must be a PNG or JPEG, not %s)", sha, sha, ct)
	}
	// The same check as an upload's (the blob service checks again).
	if err := syncproto.CheckAttachment(f, n, ct); err != nil {
		var ve *syncproto.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		return nil, Errorf(EREFUSED, "导出文件中的附件%s不是有效图片：%s (attachment %s in the export is not a valid image: %s).", sha, ve.Reason, sha, ve.Reason)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &ExportAttachment{SHA256: sha, Size: n, ContentType: ct, Path: filepath.Clean(f.Name())}, nil
}

// refers reports whether a mutation of the outbox refers to the attachment.
func (e *DeviceExport) refers(sha string) bool {
	if e.refs == nil {
		e.refs = map[string]bool{}
		for i := range e.Mutations {
			for _, r := range e.Mutations[i].Refs() {
				e.refs[r.SHA256] = true
			}
		}
	}
	return e.refs[sha]
}

// headWriter keeps the first max bytes written to it, for sniffing.
type headWriter struct {
	b   []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if k := w.max - len(w.b); k > 0 {
		w.b = append(w.b, p[:min(k, len(p))]...)
	}
	return len(p), nil
}

// checkExportRefs requires every reference in the outbox to an attachment
// the archive holds to agree with the file on size and content type.
func checkExportRefs(e *DeviceExport) error {
	files := map[string]*ExportAttachment{}
	for i := range e.Attachments {
		files[e.Attachments[i].SHA256] = &e.Attachments[i]
	}
	for i := range e.Mutations {
		m := &e.Mutations[i]
		for _, r := range m.Refs() {
			a := files[r.SHA256]
			if a != nil && (a.Size != r.Size || a.ContentType != r.ContentType) {
				return errExport("变更%d引用的附件%s与文件不符 (mutation %d refers to attachment %s with another size or content type)", m.Seq, r.SHA256, m.Seq, r.SHA256)
			}
		}
	}
	return nil
}
