package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// readBatch takes any body without panicking, hands store exactly the
// declared bytes of each part whose headers pass, and either answers one
// result per part or a stable error: EINVALID or ETOOLARGE for a malformed
// body, errBatchCut for one that ends early.
func FuzzReadBatch(f *testing.F) {
	const boundary = "b0undary"
	part := func(w *multipart.Writer, sha, ct string, n int, content []byte) {
		p, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}, "Content-Length": {strconv.Itoa(n)}, syncproto.HeaderBatchSHA256: {sha}})
		p.Write(content)
	}
	sha := string(bytes.Repeat([]byte("ab"), 32))
	for _, build := range []func(w *multipart.Writer){
		func(w *multipart.Writer) { part(w, sha, "image/png", 5, []byte("hello")) },
		func(w *multipart.Writer) {
			part(w, sha, "image/jpeg", 3, []byte("abc"))
			part(w, sha, "image/png", 2, []byte("de"))
		},
		func(w *multipart.Writer) { part(w, sha, "image/png", 9, []byte("short")) },
		func(w *multipart.Writer) { part(w, "nothex", "image/png", 5, []byte("hello")) },
		func(w *multipart.Writer) {},
	} {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.SetBoundary(boundary)
		build(w)
		w.Close()
		f.Add(b.Bytes())
		f.Add(b.Bytes()[:b.Len()/2])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		stored := 0
		results, err := readBatch(bytes.NewReader(body), boundary, func(p *batchPart, r io.Reader) (syncproto.BatchResult, error) {
			if !syncproto.ValidSHA256(p.blob.SHA256) || p.size < 1 || p.size > syncproto.MaxAttachmentBytes {
				t.Fatalf("store got a part with bad headers: %+v", p)
			}
			n, err := io.Copy(io.Discard, r)
			if err == nil && n > p.size {
				t.Fatalf("store read %d bytes of a %d-byte part", n, p.size)
			}
			stored++
			return syncproto.BatchResult{SHA256: p.blob.SHA256, Status: syncproto.BatchStored}, err
		})
		switch code := server.ErrorCode(err); {
		case err == nil:
			if len(results) == 0 || len(results) > syncproto.MaxBatchFiles || len(results) != stored {
				t.Fatalf("%d results for %d parts stored", len(results), stored)
			}
		case errors.Is(err, errBatchCut):
		case code == server.EINVALID || code == server.ETOOLARGE:
			if server.ErrorMessage(err) == "" {
				t.Fatal("an error without a message")
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// A device runs at most maxBatchesPerDevice batches at once; another
// device is not held up by it, and an ended batch frees its slot. A
// question about files waits for the device's batches carrying them, and
// only those.
func TestBatchesInFlight(t *testing.T) {
	var b batchesInFlight
	var mine []*runningBatch
	for i := range maxBatchesPerDevice {
		rb := b.enter(1)
		if rb == nil {
			t.Fatalf("batch %d of device 1 refused", i+1)
		}
		mine = append(mine, rb)
	}
	if b.enter(1) != nil {
		t.Fatal("one batch too many taken")
	}
	other := b.enter(2)
	if other == nil {
		t.Fatal("device 2 held up by device 1")
	}
	ctx := context.Background()
	for _, rb := range mine {
		b.begin(rb, "x")
	}
	b.begin(mine[0], "a")
	b.begin(other, "b")
	b.waitFor(ctx, 1, []string{"b", "c"}) // nothing of device 1 carries them: no wait
	waited := make(chan struct{})
	go func() {
		b.waitFor(ctx, 1, []string{"c", "a"})
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("a question about a file in flight did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	b.leave(1, mine[0])
	<-waited
	if b.enter(1) == nil {
		t.Fatal("an ended batch kept its slot")
	}
	// A batch that has not begun a part may carry anything: waited for,
	// until the question's context ends, or at most the bound.
	timeout, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	b.waitFor(timeout, 1, []string{"c"})
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("a question did not wait for a batch that has not begun a part")
	}
	b.wait = 30 * time.Millisecond
	start = time.Now()
	b.waitFor(ctx, 1, []string{"c"})
	if time.Since(start) < b.wait {
		t.Fatal("a question did not wait for a batch that has not begun a part")
	}
}
