package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// countingTransport counts requests that send a file: upload creations and
// batch uploads.
type countingTransport struct{ creates atomic.Int32 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && (r.URL.Path == syncproto.PathUploads || r.URL.Path == syncproto.PathAttachmentsBatch) {
		ct.creates.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A file the server refuses for its content (here HTML named as a PNG, as
// an old or broken app could queue) does not stall the device: it is sent
// once, the change that refers to it comes back rejected with the reason,
// the rest of the queue applies, and nothing is sent again.
func TestE2ERefusedAttachmentIsARejection(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx := context.Background()
		username, packetID := issuePackets(t, h)
		counter := &countingTransport{}
		c, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 2, BackoffBase: 10 * time.Millisecond, ChunkSize: 1 << 10,
			Logger: testLogger(), HTTPClient: &http.Client{Transport: counter, Timeout: 30 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Enrol(ctx, h.URL, username, apptest.Password, "tablet"); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}

		// The SDK itself refuses to attach it.
		dir := t.TempDir()
		html := []byte("<!doctype html><html><body>not a photo</body></html>")
		fake := filepath.Join(dir, "fake.png")
		if err := os.WriteFile(fake, html, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AttachFile(context.Background(), fake, "image/png"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("attaching HTML as a PNG: %v, want ErrInvalid", err)
		}

		// Queue an answer with a real photo, then swap in the HTML, as a
		// device without that check would have queued it.
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: h.DeptA.Code, ItemCode: "minors", Result: syncproto.ResultNonCompliant,
			Note: "照片", Photos: []string{writePNG(t, dir, 71)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Answer(ctx, packetID, AnswerInput{Department: h.DeptA.Code, ItemCode: "licence", Result: syncproto.ResultCompliant}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(html)
		bad := syncproto.AttachmentRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(html)), ContentType: "image/png"}
		if err := os.WriteFile(c.attachmentPath(bad.SHA256), html, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := c.db.Exec(`INSERT INTO attachments (sha256, size, content_type, created_at) VALUES (?, ?, ?, ?)`,
			bad.SHA256, bad.Size, bad.ContentType, ts(time.Now())).Error; err != nil {
			t.Fatal(err)
		}
		queued := outbox(t, c)
		if len(queued) != 2 || queued[0].Answer == nil || len(queued[0].Answer.Photos) != 1 {
			t.Fatalf("outbox %+v", queued)
		}
		m := queued[0]
		m.Answer.Photos[0] = bad
		body, _ := json.Marshal(m)
		if err := c.db.Exec(`UPDATE outbox SET body = ? WHERE seq = ?`, string(body), m.Seq).Error; err != nil {
			t.Fatal(err)
		}

		err = c.Sync(ctx)
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("sync: %v, want ErrRejected", err)
		}
		rej, err := c.Rejections(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rej) != 1 || rej[0].Seq != m.Seq || rej[0].Code != syncproto.CodeAttachmentRefused || !strings.Contains(rej[0].Message, bad.SHA256) {
			t.Fatalf("rejections %+v", rej)
		}
		if n := count(t, c, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Fatalf("%d changes still queued", n)
		}
		if n := counter.creates.Load(); n != 1 {
			t.Fatalf("%d requests sending the file, want the one", n)
		}
		// Nothing more to do, and the file is not sent again.
		if err := c.Sync(ctx); err != nil {
			t.Fatalf("second sync: %v", err)
		}
		if n := counter.creates.Load(); n != 1 {
			t.Fatalf("%d requests sending the file after a second sync, want 1", n)
		}
		r := h.Do(t, "GET", syncproto.PathAttachments+"/"+bad.SHA256, h.Token(t, "root"), nil)
		if r.Status != http.StatusNotFound {
			t.Fatalf("the refused file is readable: %d", r.Status)
		}
	})
}
