package api_test

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// createWith sends an upload's creation carrying body (creation-with-upload)
// and naming the upload id ("" for none).
func (d *fieldDevice) createWith(t testing.TB, content []byte, body []byte, id string) *apptest.Response {
	t.Helper()
	ref := attachment(content)
	req := d.request(t, "POST", syncproto.PathUploads, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(content)))
	meta := syncproto.UploadMetaSHA256 + " " + base64.StdEncoding.EncodeToString([]byte(ref.SHA256)) + "," +
		syncproto.UploadMetaContentType + " " + base64.StdEncoding.EncodeToString([]byte(ref.ContentType))
	if id != "" {
		meta += "," + syncproto.UploadMetaID + " " + base64.StdEncoding.EncodeToString([]byte(id))
	}
	req.Header.Set("Upload-Metadata", meta)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	return d.h.Send(t, req)
}

// An upload's creation may carry the file: one request stores a file that
// fits. It may name the upload (32 hex digits), so a device that lost the
// answer asks for the offset at the name and goes on from there; a name in
// use by anyone else, or malformed, is refused and creates nothing.
func TestUploads_CreationWithUploadAndNamedUploads(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		a1 := newFieldDevice(t, h, "insp-a1")
		b1 := newFieldDevice(t, h, "insp-b1")

		// The whole file in the creation: stored, not missing any more.
		whole := pngBytes("whole", 5_000)
		r := a1.createWith(t, whole, whole, "")
		if r.Status != http.StatusCreated || r.Header.Get("Upload-Offset") != strconv.Itoa(len(whole)) {
			t.Fatalf("creation with the whole file: %d offset %q %s", r.Status, r.Header.Get("Upload-Offset"), r.Body)
		}
		if m := a1.missing(t, attachment(whole).SHA256); len(m) != 0 {
			t.Fatalf("still missing after a creation carrying the file: %v", m)
		}

		// Named, with the first part: the upload is at its name, and goes
		// on from the offset the creation reached.
		content := pngBytes("named", 9_000)
		const id = "0123456789abcdef0123456789abcdef"
		r = a1.createWith(t, content, content[:4000], id)
		if r.Status != http.StatusCreated || r.Header.Get("Upload-Offset") != "4000" {
			t.Fatalf("named creation: %d offset %q %s", r.Status, r.Header.Get("Upload-Offset"), r.Body)
		}
		path := syncproto.PathUploads + "/" + id
		if off, hr := a1.head(t, path); hr.Status != http.StatusOK || off != 4000 {
			t.Fatalf("HEAD at the name: %d offset %d", hr.Status, off)
		}
		// Someone else naming the same upload: refused, nothing written.
		other := pngBytes("other", 3_000)
		if r := b1.createWith(t, other, other, id); r.Status != http.StatusConflict {
			t.Fatalf("another device naming an upload in use: %d %s", r.Status, r.Body)
		}
		if off, _ := a1.head(t, path); off != 4000 {
			t.Fatalf("the upload moved to offset %d after a refused creation", off)
		}
		if r := a1.patch(t, path, 4000, content[4000:]); r.Status != http.StatusNoContent {
			t.Fatalf("the rest: %d %s", r.Status, r.Body)
		}
		if m := a1.missing(t, attachment(content).SHA256); len(m) != 0 {
			t.Fatalf("still missing: %v", m)
		}
		for _, bad := range []string{"xyz", "0123456789ABCDEF0123456789ABCDEF", "../../etc/passwd", "0123456789abcdef"} {
			if r := a1.createWith(t, other, other, bad); r.Status != http.StatusBadRequest {
				t.Fatalf("upload_id %q: %d %s", bad, r.Status, r.Body)
			}
		}
		if m := a1.missing(t, attachment(other).SHA256); len(m) != 1 {
			t.Fatalf("refused creations stored the file: missing %v", m)
		}
	})
}
