package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// An upload abandoned half-way is pruned after the cut-off; one written to
// since is kept; the device that comes back starts again and finishes.
func TestPruneUploads(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		d := newFieldDevice(t, h, "insp-a1")
		stale, fresh := pngBytes("stale", 90_000), pngBytes("fresh", 90_000)
		start := func(content []byte) string {
			ref := attachment(content)
			path, r := d.createUpload(t, len(content), ref.SHA256, ref.ContentType)
			if r.Status != http.StatusCreated {
				t.Fatalf("create upload: %d %s", r.Status, r.Body)
			}
			if r := d.patch(t, path, 0, content[:40_000]); r.Status != http.StatusNoContent {
				t.Fatalf("partial upload: %d %s", r.Status, r.Body)
			}
			return path
		}
		stalePath, freshPath := start(stale), start(fresh)
		dir := h.App.UploadDir
		week := time.Now().Add(-8 * 24 * time.Hour)
		for _, suffix := range []string{"", ".info"} {
			if err := os.Chtimes(filepath.Join(dir, filepath.Base(stalePath)+suffix), week, week); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "not-an-upload.txt"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := api.PruneUploads(dir, time.Now().Add(-7*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "not-an-upload.txt")); err != nil {
			t.Fatal("a file that is not an upload was removed")
		}
		if _, r := d.head(t, stalePath); r.Status != http.StatusNotFound {
			t.Fatalf("pruned upload: HEAD %d, want 404", r.Status)
		}
		if off, r := d.head(t, freshPath); r.Status != http.StatusOK || off != 40_000 {
			t.Fatalf("fresh upload: HEAD %d offset %d, want 200 at 40000", r.Status, off)
		}
		// The device starts the pruned one again and both finish.
		d.upload(t, stale)
		if r := d.patch(t, freshPath, 40_000, fresh[40_000:]); r.Status != http.StatusNoContent {
			t.Fatalf("resume: %d %s", r.Status, r.Body)
		}
		if got := d.missing(t, attachment(stale).SHA256, attachment(fresh).SHA256); len(got) != 0 {
			t.Fatalf("still missing %v", got)
		}
	})
}
