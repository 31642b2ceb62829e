package devicedaybench

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/internal/faultnet"
)

func TestGenerate(t *testing.T) {
	p := Generate(7, DeviceDay())
	if got := len(p.OfKind(KindPacket)); got != 20 {
		t.Fatalf("%d packets", got)
	}
	if got := len(p.OfKind(KindSignature)); got != 40 {
		t.Fatalf("%d signatures", got)
	}
	if got := len(p.OfKind(KindPhoto)); got != 100 {
		t.Fatalf("%d photos", got)
	}
	// ≈31.4 MB in the research anchors.
	if mb := float64(p.Bytes()) / 1e6; mb < 31 || mb > 32 {
		t.Fatalf("payload %.2f MB", mb)
	}
	names := map[string]bool{}
	for _, it := range p.Items {
		if names[it.Name] {
			t.Fatalf("duplicate name %s", it.Name)
		}
		names[it.Name] = true
		if sum := sha256.Sum256(it.Data); hex.EncodeToString(sum[:]) != it.SHA256 {
			t.Fatalf("%s: wrong SHA256", it.Name)
		}
		if got := http.DetectContentType(it.Data); !strings.HasPrefix(got, it.ContentType) && it.Kind != KindPacket {
			t.Fatalf("%s sniffs as %s, want %s", it.Name, got, it.ContentType)
		}
	}
	photo, sig, packet := p.OfKind(KindPhoto)[0], p.OfKind(KindSignature)[0], p.OfKind(KindPacket)[0]
	if n := len(photo.Data); n < 299_000 || n > 301_000 {
		t.Fatalf("photo %d bytes", n)
	}
	if n := len(sig.Data); n < 29_000 || n > 31_000 {
		t.Fatalf("signature %d bytes", n)
	}
	if !bytes.HasSuffix(photo.Data, []byte{0xFF, 0xD9}) || !bytes.HasSuffix(sig.Data, []byte("IEND\xae\x42\x60\x82")) {
		t.Fatal("image trailers")
	}
	// Images are incompressible; packet JSON compresses like JSON.
	if r := gzipRatio(photo.Data); r < 0.99 {
		t.Fatalf("photo gzips to %.2f", r)
	}
	if r := gzipRatio(packet.Data); r > 0.5 {
		t.Fatalf("packet JSON gzips to %.2f", r)
	}
	// Deterministic by seed.
	again, other := Generate(7, DeviceDay()), Generate(8, DeviceDay())
	if again.Items[50].SHA256 != p.Items[50].SHA256 || other.Items[50].SHA256 == p.Items[50].SHA256 {
		t.Fatal("Generate is not a function of the seed")
	}
	dir := t.TempDir()
	if err := Generate(1, Spec{Photos: 1, PhotoBytes: 1000}).WriteDir(dir); err != nil {
		t.Fatal(err)
	}
}

func gzipRatio(b []byte) float64 {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	return float64(z.Len()) / float64(len(b))
}

// blobServer is a toy resumable-upload server: HEAD /blob/SHA gives the
// stored offset, PUT /blob/SHA?offset=N appends whatever arrives.
type blobServer struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

func (s *blobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/blob/")
	// One lock for the whole request: a cut request's handler may still be
	// appending when the retry arrives, and offsets must stay consistent.
	s.mu.Lock()
	defer s.mu.Unlock()
	have := len(s.blobs[key])
	switch r.Method {
	case http.MethodHead:
		w.Header().Set("Upload-Offset", strconv.Itoa(have))
	case http.MethodPut:
		if off, _ := strconv.Atoi(r.URL.Query().Get("offset")); off != have {
			http.Error(w, "offset", http.StatusConflict)
			return
		}
		buf := make([]byte, 8<<10)
		for {
			n, err := r.Body.Read(buf)
			s.blobs[key] = append(s.blobs[key], buf[:n]...)
			if err != nil {
				break
			}
		}
	}
}

// toySync uploads every item not yet whole on the server, resuming from
// the server's offset; it stands in for the SDK's Sync.
func toySync(p Payload) SyncFunc {
	return func(ctx context.Context, env Env) error {
		for _, it := range p.Items {
			req, _ := http.NewRequestWithContext(ctx, http.MethodHead, env.BaseURL+"/blob/"+it.SHA256, nil)
			resp, err := env.Client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
			if off == len(it.Data) {
				continue
			}
			url := fmt.Sprintf("%s/blob/%s?offset=%d", env.BaseURL, it.SHA256, off)
			req, _ = http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(it.Data[off:]))
			resp, err = env.Client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", it.Name, resp.Status)
			}
		}
		return nil
	}
}

// Run drives a resumable sync through cuts to completion and measures it.
func TestRunToySync(t *testing.T) {
	payload := Generate(3, Spec{Packets: 2, PacketBytes: 5_000, Signatures: 2, SignatureBytes: 20_000, Photos: 6, PhotoBytes: 100_000})
	srv := &blobServer{blobs: map[string][]byte{}}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	link := faultnet.Link{UpBytesPerSecond: 2_000_000, RTT: 10 * time.Millisecond, CutEvery: 80 * time.Millisecond, Mode: faultnet.CutReset}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, hs.Listener.Addr().String(), payload.Bytes(), Config{Link: link, Seed: 5}, toySync(payload))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range payload.Items {
		if sum := sha256.Sum256(srv.blobs[it.SHA256]); hex.EncodeToString(sum[:]) != it.SHA256 {
			t.Fatalf("%s: stored blob differs (%d of %d bytes)", it.Name, len(srv.blobs[it.SHA256]), len(it.Data))
		}
	}
	if res.Sync.Drops == 0 || res.Sync.Cuts == 0 || res.Sync.Attempts < 2 {
		t.Fatalf("no cut exercised: %+v", res.Sync)
	}
	if res.Sync.UpWire < payload.Bytes() || res.WireRatio() < 1 {
		t.Fatalf("up on wire %d < payload %d", res.Sync.UpWire, payload.Bytes())
	}
	if res.Ideal <= 0 || res.Sync.Wall < res.Ideal {
		t.Fatalf("wall %v faster than the link allows (%v)", res.Sync.Wall, res.Ideal)
	}
	if res.NoOp.RoundTrips != len(payload.Items) || res.NoOp.Attempts != 1 {
		t.Fatalf("no-op: %+v", res.NoOp)
	}
	t.Log(res.Markdown())
	t.Logf("sync %+v; no-op %+v", res.Sync, res.NoOp)
}
