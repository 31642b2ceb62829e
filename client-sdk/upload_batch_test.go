package sdk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spotcheck/spotcheck/syncproto"
)

// A batch body, streamed from the files, is the multipart/mixed body the
// protocol describes: one part per file, with exactly its three headers and
// its bytes, of the size announced; each attempt reads the files afresh.
func TestBatchBody(t *testing.T) {
	c := newTestClient(t, nil)
	var files []attachmentRow
	for i, n := range []int{1, 3000, 70_000} {
		content := bytes.Repeat([]byte{byte(i + 1)}, n)
		sum := sha256.Sum256(content)
		a := attachmentRow{SHA256: hex.EncodeToString(sum[:]), Size: int64(n), ContentType: []string{"image/png", "image/jpeg"}[i%2]}
		p := c.attachmentPath(a.SHA256)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, a)
	}
	open, size, contentType := c.batchBody(files)
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != syncproto.BatchMediaType || params["boundary"] == "" {
		t.Fatalf("content type %q", contentType)
	}
	for attempt := range 2 {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || int64(len(body)) != size {
			t.Fatalf("attempt %d: %d bytes, announced %d (%v)", attempt, len(body), size, err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for i, a := range files {
			p, err := mr.NextRawPart()
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			if len(p.Header) != 3 || p.Header.Get("Content-Type") != a.ContentType || p.Header.Get("Content-Length") != strconv.FormatInt(a.Size, 10) ||
				p.Header.Get(syncproto.HeaderBatchSHA256) != a.SHA256 {
				t.Fatalf("part %d headers %v", i, p.Header)
			}
			got, _ := io.ReadAll(p)
			if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != a.SHA256 {
				t.Fatalf("part %d: %d bytes that are not the file", i, len(got))
			}
		}
		if _, err := mr.NextRawPart(); err != io.EOF {
			t.Fatalf("after the last part: %v", err)
		}
	}
	// A file that changed size on the device is not sent.
	if err := os.WriteFile(c.attachmentPath(files[1].SHA256), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rc, err := open(); err == nil {
		rc.Close()
		t.Fatal("a file of the wrong size was sent")
	}
}
