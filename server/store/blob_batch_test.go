package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// testPNG is a PNG of about n bytes of noise unique to seed.
func testPNG(seed uint64, n int) []byte {
	const w = 128
	img := image.NewGray(image.Rect(0, 0, w, max(1, n/w)))
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func blobOf(content []byte) *server.Blob {
	sum := sha256.Sum256(content)
	return &server.Blob{SHA256: hex.EncodeToString(sum[:]), ContentType: "image/png"}
}

// shardEntries lists the files in the blob directory's shards.
func shardEntries(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	shards, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if !s.IsDir() {
			continue
		}
		es, err := os.ReadDir(filepath.Join(dir, s.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// A batch stores the files it was given, each checked as AddBlob checks it,
// with nothing left over beside them: on unnamed files where the system
// has them, and on named temporary files where not. Until Commit nothing is
// stored, and Close discards what was not committed.
func TestBlobBatch(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		h := apptest.New(t, db)
		ctx, _, _ := fieldDevice(t, h, "insp-a1")
		for _, named := range []bool{false, true} {
			dir := t.TempDir()
			blobs, err := store.NewBlobService(db, dir)
			if err != nil {
				t.Fatal(err)
			}
			if named {
				blobs.StageNamed()
			}
			seed := uint64(1)
			if named {
				seed = 100
			}
			a, b := testPNG(seed, 5000), testPNG(seed+1, 20000)
			notImage := bytes.Repeat([]byte("text "), 400)

			batch, err := blobs.NewBatch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range [][]byte{a, b} {
				if err := batch.Add(ctx, blobOf(c), bytes.NewReader(c)); err != nil {
					t.Fatalf("named=%v: add: %v", named, err)
				}
			}
			if err := batch.Add(ctx, blobOf(a), bytes.NewReader(b)); server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("named=%v: bytes not matching their hash: %v", named, err)
			}
			if err := batch.Add(ctx, blobOf(notImage), bytes.NewReader(notImage)); server.ErrorCode(err) != server.EREFUSED {
				t.Fatalf("named=%v: not an image: %v", named, err)
			}
			hashes := []string{blobOf(a).SHA256, blobOf(b).SHA256}
			if got, _ := h.App.Sync.MissingBlobs(ctx, hashes); len(got) != 2 {
				t.Fatalf("named=%v: stored before Commit: missing %v", named, got)
			}
			if err := batch.Commit(ctx); err != nil {
				t.Fatalf("named=%v: commit: %v", named, err)
			}
			if got, err := h.App.Sync.MissingBlobs(ctx, hashes); err != nil || len(got) != 0 {
				t.Fatalf("named=%v: missing after Commit: %v %v", named, got, err)
			}
			want := slices.Sorted(slices.Values(hashes))
			if got := shardEntries(t, dir); !slices.Equal(got, want) {
				t.Fatalf("named=%v: blob directory holds %v, want %v", named, got, want)
			}
			for _, c := range [][]byte{a, b} {
				if got, err := os.ReadFile(blobs.Path(blobOf(c).SHA256)); err != nil || !bytes.Equal(got, c) {
					t.Fatalf("named=%v: stored file differs: %v", named, err)
				}
			}

			// Again, the same content, and a new file dropped by Close.
			c := testPNG(seed+2, 3000)
			if err := batch.Add(ctx, blobOf(a), bytes.NewReader(a)); err != nil {
				t.Fatal(err)
			}
			if err := batch.Commit(ctx); err != nil {
				t.Fatalf("named=%v: the same content again: %v", named, err)
			}
			if err := batch.Add(ctx, blobOf(c), bytes.NewReader(c)); err != nil {
				t.Fatal(err)
			}
			batch.Close()
			if got := shardEntries(t, dir); !slices.Equal(got, want) {
				t.Fatalf("named=%v: after Close the blob directory holds %v, want %v", named, got, want)
			}
			if got, _ := h.App.Sync.MissingBlobs(ctx, []string{blobOf(c).SHA256}); len(got) != 1 {
				t.Fatalf("named=%v: a closed batch's file was recorded", named)
			}
		}
	})
}
