package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/syncproto"
)

// countRows counts rows of a query on the harness's database.
func countRows(t *testing.T, h *apptest.Harness, q string, args ...any) int {
	t.Helper()
	var n int64
	err := h.App.DB.WithTx(context.Background(), func(tx *store.Tx) error { return tx.Raw(q, args...).Scan(&n).Error })
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// countFiles counts the files in dir.
func countFiles(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	return len(entries), err
}

func refOf(content []byte, contentType string) syncproto.AttachmentRef {
	sum := sha256.Sum256(content)
	return syncproto.AttachmentRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), ContentType: contentType}
}

// A file that is not the image it claims to be is refused when its last
// byte arrives: not stored, 422 attachment_refused, and a mutation that
// refers to it is rejected with the reason rather than deferred forever.
func TestUploads_ContentRefused(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		d := newFieldDevice(t, h, "insp-a1")
		html := []byte("<!doctype html><html><body><script>document.location='https://evil.example/'</script></body></html>")
		zeros := make([]byte, 1<<20)
		jpegInPNG := pngBytes("not a jpeg", 5000)
		for _, tc := range []struct {
			name    string
			content []byte
			ct      string
		}{{"HTML as image/png", html, "image/png"}, {"zeros as image/png", zeros, "image/png"}, {"a PNG as image/jpeg", jpegInPNG, "image/jpeg"}} {
			ref := refOf(tc.content, tc.ct)
			path, r := d.createUpload(t, len(tc.content), ref.SHA256, tc.ct)
			if r.Status != http.StatusCreated {
				t.Fatalf("%s: create: %d %s", tc.name, r.Status, r.Body)
			}
			r = d.patch(t, path, 0, tc.content)
			if e := r.Error(); r.Status != http.StatusUnprocessableEntity || e.Code != syncproto.CodeAttachmentRefused || e.Message == "" {
				t.Fatalf("%s: finish: %d %s", tc.name, r.Status, r.Body)
			}
			if got := d.missing(t, ref.SHA256); !slices.Equal(got, []string{ref.SHA256}) {
				t.Fatalf("%s: the refused file was stored: missing %v", tc.name, got)
			}
			if n := countRows(t, h, "SELECT COUNT(*) FROM uploads"); n != 0 {
				t.Fatalf("%s: %d uploads still counted open", tc.name, n)
			}
		}
		if n, err := countFiles(h.App.UploadDir); err != nil || n != 0 {
			t.Fatalf("upload directory holds %d files (%v)", n, err)
		}

		// The answer referring to the HTML is rejected, the next one applies.
		a := answerOf(f, h.DeptA.Code, syncproto.ResultNonCompliant, 0)
		a.Photos = []syncproto.AttachmentRef{refOf(html, "image/png")}
		r := d.push(t, d.answer(p.ID, a), d.answer(p.ID, answerOf(f, h.DeptA.Code, syncproto.ResultCompliant, 0)))
		if got := statuses(r); !slices.Equal(got, []string{"1:rejected:attachment_refused", "2:applied:"}) || r.LastAppliedSeq != 2 {
			t.Fatalf("push: %v last %d", got, r.LastAppliedSeq)
		}

		// A real PNG of the same device goes through.
		good := pngBytes("good", 4000)
		d.upload(t, good)
		if got := d.missing(t, attachment(good).SHA256); len(got) != 0 {
			t.Fatalf("the good PNG is missing: %v", got)
		}
	})
}

// One device cannot hold more unfinished uploads, or more declared bytes in
// them, than its quota, even when it asks all at once; nor can one user over
// several devices. Finishing an upload, or starting the same file again,
// gives its share back.
func TestUploads_Quotas(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		h.App.Uploads.Limits = server.UploadLimits{OpenPerDevice: 8, OpenBytesPerDevice: 100_000, OpenPerUser: 10, OpenBytesPerUser: 1 << 30}
		d := newFieldDevice(t, h, "insp-a1")
		tooMany := func(what string, r *apptest.Response) {
			t.Helper()
			if e := r.Error(); r.Status != http.StatusTooManyRequests || e.Code != syncproto.CodeQuotaExceeded || e.Message == "" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: %d %s (Retry-After %q), want 429 quota_exceeded", what, r.Status, r.Body, r.Header.Get("Retry-After"))
			}
		}

		// 60 creations at once: exactly 8 are admitted.
		var created, refused atomic.Int32
		var wg sync.WaitGroup
		var paths sync.Map
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum := sha256.Sum256([]byte(strconv.Itoa(i)))
				path, r := d.createUpload(t, 1000, hex.EncodeToString(sum[:]), "image/png")
				switch {
				case r.Status == http.StatusCreated:
					created.Add(1)
					paths.Store(i, path)
				case r.Status == http.StatusTooManyRequests && r.Error().Code == syncproto.CodeQuotaExceeded:
					refused.Add(1)
				default:
					t.Errorf("create %d: %d %s", i, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		if created.Load() != 8 || refused.Load() != 52 {
			t.Fatalf("created %d, refused %d; want 8 and 52", created.Load(), refused.Load())
		}
		if n := countRows(t, h, "SELECT COUNT(*) FROM uploads WHERE device_id = ?", d.ID); n != 8 {
			t.Fatalf("%d uploads counted open, want 8", n)
		}
		photo := pngBytes("quota", 3000)
		ref := attachment(photo)
		_, r := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		tooMany("a ninth upload", r)

		// Finishing one gives its place back.
		var first string
		paths.Range(func(_, v any) bool { first = v.(string); return false })
		bad := make([]byte, 1000)
		if r := d.patch(t, first, 0, bad); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		path, r := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		if r.Status != http.StatusCreated {
			t.Fatalf("after one finished: %d %s", r.Status, r.Body)
		}
		// Starting the same file again supersedes the earlier upload.
		again, r := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		if r.Status != http.StatusCreated || again == path {
			t.Fatalf("the same file again: %d %s (%s, %s)", r.Status, r.Body, path, again)
		}
		if _, hr := d.head(t, path); hr.Status != http.StatusNotFound {
			t.Fatalf("the superseded upload still answers %d", hr.Status)
		}
		if r := d.patch(t, again, 0, photo); r.Status != http.StatusNoContent {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}

		// Bytes: 7 of 1,000 bytes are open; 93,001 more would pass 100,000.
		_, r = d.createUpload(t, 93_001, ref.SHA256[:63]+"0", "image/png")
		tooMany("over the device's bytes", r)
		_, r = d.createUpload(t, 93_000, ref.SHA256[:63]+"0", "image/png")
		if r.Status != http.StatusCreated {
			t.Fatalf("up to the device's bytes: %d %s", r.Status, r.Body)
		}

		// The user's second device has room for the user's last two.
		d2 := newFieldDevice(t, h, "insp-a1")
		for i := range 2 {
			sum := sha256.Sum256([]byte("second device" + strconv.Itoa(i)))
			if _, r := d2.createUpload(t, 1000, hex.EncodeToString(sum[:]), "image/png"); r.Status != http.StatusCreated {
				t.Fatalf("second device, upload %d: %d %s", i, r.Status, r.Body)
			}
		}
		_, r = d2.createUpload(t, 1000, ref.SHA256[:63]+"1", "image/png")
		tooMany("over the user's count", r)
		// Another inspector is not affected.
		other := newFieldDevice(t, h, "insp-a2")
		if _, r := other.createUpload(t, 1000, ref.SHA256, "image/png"); r.Status != http.StatusCreated {
			t.Fatalf("another inspector: %d %s", r.Status, r.Body)
		}
	})
}

// What a user stored in the last 24 hours counts against the daily quota;
// the answer says when there is room again.
func TestUploads_DailyQuota(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		photo := pngBytes("daily", 30_000)
		h.App.Uploads.Limits = server.UploadLimits{DailyBytesPerUser: int64(len(photo)) + 10_000}
		d := newFieldDevice(t, h, "insp-a1")
		d.upload(t, photo)
		next := pngBytes("next", 20_000)
		ref := attachment(next)
		_, r := d.createUpload(t, len(next), ref.SHA256, ref.ContentType)
		if e := r.Error(); r.Status != http.StatusTooManyRequests || e.Code != syncproto.CodeQuotaExceeded {
			t.Fatalf("over the daily quota: %d %s", r.Status, r.Body)
		}
		if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 23*3600 || s > 24*3600 {
			t.Fatalf("Retry-After %q, want about a day", r.Header.Get("Retry-After"))
		}
		// A batch counts the same, and stores nothing when over.
		r = d.batch(t, batchFile{content: next})
		if e := r.Error(); r.Status != http.StatusTooManyRequests || e.Code != syncproto.CodeQuotaExceeded || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a batch over the daily quota: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, ref.SHA256); len(got) != 1 {
			t.Fatal("a batch over the daily quota stored its file")
		}
		h.Advance(24*time.Hour + time.Second)
		d = newFieldDevice(t, h, "insp-a1") // a fresh token on the moved clock
		if _, r := d.createUpload(t, len(next), ref.SHA256, ref.ContentType); r.Status != http.StatusCreated {
			t.Fatalf("a day later: %d %s", r.Status, r.Body)
		}
	})
}

// Below the disk floor uploads are refused with 507 and Retry-After, before
// anything is written; above it they go on.
func TestUploads_DiskFloor(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		var free atomic.Uint64
		free.Store(10 << 20)
		h.App.API.MinFreeDisk = 1 << 20
		h.App.API.FreeDisk = func() (uint64, error) { return free.Load(), nil }
		d := newFieldDevice(t, h, "insp-a1")
		photo := pngBytes("floor", 200_000)
		ref := attachment(photo)
		path, r := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if r := d.patch(t, path, 0, photo[:50_000]); r.Status != http.StatusNoContent {
			t.Fatalf("chunk: %d %s", r.Status, r.Body)
		}
		noSpace := func(what string, r *apptest.Response) {
			t.Helper()
			if e := r.Error(); r.Status != http.StatusInsufficientStorage || e.Code != syncproto.CodeInsufficientSpace || e.Message == "" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: %d %s (Retry-After %q), want 507 insufficient_storage", what, r.Status, r.Body, r.Header.Get("Retry-After"))
			}
		}
		// 1 MiB + this chunk is more than is free.
		free.Store(1<<20 + 100_000)
		noSpace("a chunk below the floor", d.patch(t, path, 50_000, photo[50_000:]))
		if off, _ := d.head(t, path); off != 50_000 {
			t.Fatalf("offset %d after a refused chunk, want 50000", off)
		}
		other := pngBytes("floor 2", 200_000)
		_, r = d.createUpload(t, len(other), attachment(other).SHA256, "image/png")
		noSpace("a creation below the floor", r)
		noSpace("a batch below the floor", d.batch(t, batchFile{content: other}))
		if got := d.missing(t, attachment(other).SHA256); len(got) != 1 {
			t.Fatal("a batch below the floor stored its file")
		}
		if n := countRows(t, h, "SELECT COUNT(*) FROM uploads"); n != 1 {
			t.Fatalf("%d uploads open, want the first only", n)
		}
		// Space again: the upload resumes and finishes.
		free.Store(10 << 20)
		if r := d.patch(t, path, 50_000, photo[50_000:]); r.Status != http.StatusNoContent {
			t.Fatalf("resumed chunk: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, ref.SHA256); len(got) != 0 {
			t.Fatalf("missing %v", got)
		}
	})
}

// Uploads pruned for idleness stop counting against the quota; one still
// on disk keeps counting, however old.
func TestUploads_PrunedUploadsLeaveTheQuota(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		h.App.Uploads.Limits = server.UploadLimits{OpenPerUser: 2}
		d := newFieldDevice(t, h, "insp-a1")
		stale, fresh := pngBytes("stale quota", 5000), pngBytes("fresh quota", 5000)
		stalePath, r := d.createUpload(t, len(stale), attachment(stale).SHA256, "image/png")
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if _, r := d.createUpload(t, len(fresh), attachment(fresh).SHA256, "image/png"); r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		third := pngBytes("third", 5000)
		if _, r := d.createUpload(t, len(third), attachment(third).SHA256, "image/png"); r.Status != http.StatusTooManyRequests {
			t.Fatalf("a third upload: %d %s", r.Status, r.Body)
		}
		dir := h.App.UploadDir
		week := time.Now().Add(-8 * 24 * time.Hour)
		for _, suffix := range []string{"", ".info"} {
			if err := os.Chtimes(filepath.Join(dir, filepath.Base(stalePath)+suffix), week, week); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := api.PruneUploads(dir, time.Now().Add(-7*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		h.Advance(8 * 24 * time.Hour)
		n, err := api.ForgetPrunedUploads(context.Background(), h.App.Uploads, dir, h.Now().Add(-7*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("forgot %d, %v; want 1", n, err)
		}
		if got := countRows(t, h, "SELECT COUNT(*) FROM uploads WHERE device_id = ?", d.ID); got != 1 {
			t.Fatalf("%d uploads counted open, want the fresh one", got)
		}
		d = newFieldDevice(t, h, "insp-a1") // a token on the moved clock; another device of the same user
		if _, r := d.createUpload(t, len(third), attachment(third).SHA256, "image/png"); r.Status != http.StatusCreated {
			t.Fatalf("after pruning: %d %s", r.Status, r.Body)
		}
	})
}
