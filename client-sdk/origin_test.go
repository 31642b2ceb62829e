package sdk

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// originFixture is an enrolled client whose server is srv, plus another
// host that counts every request reaching it.
type originFixture struct {
	c       *Client
	foreign *httptest.Server
	hits    atomic.Int64 // requests the foreign host received
	att     attachmentRow
}

func newOriginFixture(t *testing.T, srv http.Handler) *originFixture {
	t.Helper()
	f := &originFixture{}
	f.foreign = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.foreign.Close)
	server := httptest.NewServer(srv)
	t.Cleanup(server.Close)
	c, err := Open(t.TempDir(), Config{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	err = c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO device (id, server_url, device_id, private_key, public_key, username, access_token, refresh_token)
			VALUES (1, ?, 7, ?, ?, 'insp-a1', 'secret-access-token', 'y')`, server.URL, []byte(priv), []byte(pub)).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("\x89PNG\r\n\x1a\nnot really an image")
	sum := sha256.Sum256(content)
	f.att = attachmentRow{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), ContentType: "image/png"}
	p := c.attachmentPath(f.att.SHA256)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// An upload whose Location names another host (as a server that built it
// from a forged Host header would) is refused: neither the chunk nor the
// token goes there.
func TestUpload_RefusesLocationOnAnotherOrigin(t *testing.T) {
	var f *originFixture
	f = newOriginFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == syncproto.PathUploads {
			w.Header().Set("Location", f.foreign.URL+syncproto.PathUploads+"/abc")
			w.WriteHeader(http.StatusCreated)
			return
		}
		t.Errorf("unexpected %s %s", r.Method, r.URL)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := f.c.upload(ctx, f.att, nil, nil)
	if !errors.Is(err, ErrForeignOrigin) {
		t.Fatalf("upload: %v, want ErrForeignOrigin", err)
	}
	if n := f.hits.Load(); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
}

// An upload URL remembered on another origin (an older server's absolute
// Location) is dropped and the file uploaded again on the server itself.
func TestUpload_RememberedForeignLocationStartsAgain(t *testing.T) {
	var created, patched atomic.Int64
	f := newOriginFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret-access-token" {
			t.Errorf("%s %s without the token", r.Method, r.URL)
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == syncproto.PathUploads:
			created.Add(1)
			w.Header().Set("Location", syncproto.PathUploads+"/abc") // relative, as the server answers
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPatch && r.URL.Path == syncproto.PathUploads+"/abc":
			patched.Add(1)
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Upload-Offset", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	f.att.UploadURL = f.foreign.URL + syncproto.PathUploads + "/old"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.c.upload(ctx, f.att, nil, nil); err != nil {
		t.Fatal(err)
	}
	if created.Load() != 1 || patched.Load() != 1 {
		t.Fatalf("created %d, patched %d; want one of each", created.Load(), patched.Load())
	}
	if n := f.hits.Load(); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
}

// A redirect to another origin is not followed with the token and body.
func TestTransport_RefusesRedirectToAnotherOrigin(t *testing.T) {
	var f *originFixture
	f = newOriginFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.foreign.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := f.c.postJSON(ctx, syncproto.PathPush, syncproto.PushRequest{DeviceID: 7}, nil, false)
	if !errors.Is(err, ErrForeignOrigin) {
		t.Fatalf("push: %v, want ErrForeignOrigin", err)
	}
	if n := f.hits.Load(); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
}
