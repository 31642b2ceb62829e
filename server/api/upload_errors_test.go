package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The upload library's own errors reach a device as API errors: a stable
// code, a safe message and the request id, in JSON.
func TestUploads_ErrorsAreAPIErrors(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		d := newFieldDevice(t, h, "insp-a1")
		photo := pngBytes("errors", 1000)
		ref := attachment(photo)
		path, r := d.createUpload(t, len(photo), ref.SHA256, ref.ContentType)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		tus := func(method, path string, body []byte, header map[string]string) *apptest.Response {
			req := d.request(t, method, path, body)
			for k, v := range header {
				req.Header.Set(k, v)
			}
			return h.Send(t, req)
		}
		for name, tt := range map[string]struct {
			r      *apptest.Response
			status int
			code   string
		}{
			"wrong offset":     {d.patch(t, path, 5, photo[:10]), http.StatusConflict, syncproto.CodeConflict},
			"too long":         {d.patch(t, path, 0, append(photo, photo...)), http.StatusRequestEntityTooLarge, syncproto.CodeTooLarge},
			"no tus version":   {tus("PATCH", path, photo[:10], map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}), http.StatusBadRequest, syncproto.CodeInvalid},
			"bad content type": {tus("PATCH", path, photo[:10], map[string]string{"Tus-Resumable": "1.0.0", "Content-Type": "text/plain", "Upload-Offset": "0"}), http.StatusBadRequest, syncproto.CodeInvalid},
			"no offset":        {tus("PATCH", path, photo[:10], map[string]string{"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}), http.StatusBadRequest, syncproto.CodeInvalid},
			"no length":        {tus("POST", syncproto.PathUploads, nil, map[string]string{"Tus-Resumable": "1.0.0"}), http.StatusBadRequest, syncproto.CodeInvalid},
		} {
			var e syncproto.Error
			if err := json.Unmarshal(tt.r.Body, &e); err != nil || tt.r.Status != tt.status || e.Code != tt.code || e.Message == "" || e.RequestID == "" {
				t.Errorf("%s: %d %s %q; want %d with code %s, a message and the request id", name, tt.r.Status, tt.r.Header.Get("Content-Type"), tt.r.Body, tt.status, tt.code)
			}
		}
		// The upload is still whole-able after all that.
		if r := d.patch(t, path, 0, photo); r.Status != http.StatusNoContent {
			t.Fatalf("upload after the errors: %d %s", r.Status, r.Body)
		}
	})
}
