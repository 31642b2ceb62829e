package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

func TestLinkStats_Uploads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rtt      time.Duration
		rate     float64
		reqBytes int64
		want     int
	}{
		{"unmeasured", 0, 0, 300_000, minUploads},
		// 1 Mbit/s, 150 ms: 18.75 KB in flight, less than one signature.
		{"slow link, signatures", 150 * time.Millisecond, 125_000, 30_000, 2},
		// 100 Mbit/s, 40 ms: 500 KB in flight, two photos' worth.
		{"fast link, photos", 40 * time.Millisecond, 12_500_000, 300_000, 3},
		// Loopback: 60 MB/s, 1 ms: the server's fsync of each file is the
		// limit, not the link.
		{"loopback, photos", time.Millisecond, 60_000_000, 225_000, fastLinkUploads},
		// 50 Mbit/s, 300 ms (satellite): 1.9 MB in flight over 30 KB files.
		{"long fat link, capped", 300 * time.Millisecond, 6_250_000, 30_000, maxUploads},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l linkStats
			if tc.rtt > 0 {
				l.observeRTT(tc.rtt)
			}
			if tc.rate > 0 {
				l.observeRate(int64(tc.rate), time.Second)
			}
			if got := l.uploads(tc.reqBytes); got != tc.want {
				t.Fatalf("uploads(%d) with rtt %v, rate %.0f B/s: %d, want %d", tc.reqBytes, tc.rtt, tc.rate, got, tc.want)
			}
		})
	}
}

// The round trip follows the smallest sample at once and a larger one only
// an eighth of the way (a sample queued behind uploads is inflated).
func TestLinkStats_ObserveRTT(t *testing.T) {
	var l linkStats
	l.observeRTT(100 * time.Millisecond)
	l.observeRTT(900 * time.Millisecond)
	if l.rtt != 200*time.Millisecond {
		t.Fatalf("after 100 ms and 900 ms: %v, want 200 ms", l.rtt)
	}
	l.observeRTT(50 * time.Millisecond)
	if l.rtt != 50*time.Millisecond {
		t.Fatalf("after a 50 ms sample: %v", l.rtt)
	}
}

// With the concurrency chosen from the link (no Config.Uploads), a link
// whose bandwidth-delay product is large gets more uploads at once than
// the two a slow one gets: the server sees eight requests in flight
// together, and holds each until it does.
func TestUploadAll_ConcurrencyFromLink(t *testing.T) {
	const files = 12
	var mu sync.Mutex
	inFlight, peak := 0, 0
	release := make(chan struct{})
	var once sync.Once
	f := newOriginFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == syncproto.PathAttachmentsBatch {
			// A server without batch uploads: once the link is measured
			// fast, the SDK tries one, and sends by tus again.
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			return
		}
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		if inFlight == maxUploads {
			once.Do(func() { close(release) })
		}
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Header().Set("Location", "/v1/uploads/x"+strconv.Itoa(int(time.Now().UnixNano())))
		w.Header().Set("Upload-Offset", r.Header.Get("Upload-Length"))
		w.WriteHeader(http.StatusCreated)
	}))
	c := f.c
	c.autoUploads = true
	// Measured earlier: 300 ms round trips at 50 Mbit/s.
	c.link.observeRTT(300 * time.Millisecond)
	c.link.observeRate(6_250_000, time.Second)
	var todo []attachmentRow
	for i := range files {
		// Over smallFileBytes: on this link (not fast) each goes by tus.
		content := append([]byte(fmt.Sprintf("\x89PNG\r\n\x1a\nfile %d", i)), make([]byte, smallFileBytes)...)
		sum := sha256.Sum256(content)
		a := attachmentRow{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), ContentType: "image/png"}
		p := c.attachmentPath(a.SHA256)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		todo = append(todo, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.uploadAll(ctx, todo); err != nil {
		t.Fatalf("uploads: %v (peak %d at once)", err, peak)
	}
	if peak != maxUploads {
		t.Fatalf("%d uploads at once, want %d", peak, maxUploads)
	}
}
