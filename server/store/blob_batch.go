package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// A batch's files are written where they will live, in their shard
// directory: as unnamed files (O_TMPFILE) linked into place once synced,
// where the file system has them, so that a crash leaves nothing behind;
// else as hidden temporary files renamed into place. Either way a file
// appears under its hash only whole and synced, as AddBlob's do.

// NewBatch implements server.BlobService.
func (s *BlobService) NewBatch(ctx context.Context) (server.BlobBatch, error) {
	actor := server.UserFromContext(ctx)
	if actor == nil {
		return nil, requireUser(ctx)
	}
	return &blobBatch{s: s, actor: actor}, nil
}

// blobBatch implements server.BlobBatch.
type blobBatch struct {
	s     *BlobService
	actor *server.User
	added []*stagedBlob
}

// stagedBlob is a file written and checked, not yet in the store.
type stagedBlob struct {
	blob server.Blob
	f    *os.File
	// tmp is the temporary file's name; "" for an unnamed one.
	tmp string
}

func (b *stagedBlob) discard() {
	b.f.Close()
	if b.tmp != "" {
		os.Remove(b.tmp)
	}
}

// Add implements server.BlobBatch.
func (bb *blobBatch) Add(ctx context.Context, b *server.Blob, r io.Reader) error {
	if !syncproto.ValidSHA256(b.SHA256) {
		return errBadHash()
	}
	st := &stagedBlob{blob: *b}
	var err error
	if st.f, st.tmp, err = bb.s.stagingFile(b.SHA256); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(st.f, io.TeeReader(r, h))
	if err != nil {
		st.discard()
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != b.SHA256 {
		st.discard()
		return errNotItsHash()
	}
	st.blob.Size = n
	if _, err := bb.s.checkContent(ctx, st.f, n, &st.blob, bb.actor, syncproto.CheckAttachment); err != nil {
		st.discard() // refused, or not checked: not kept either way
		return err
	}
	bb.added = append(bb.added, st)
	return nil
}

// Commit implements server.BlobBatch. On ext4 (data=ordered) the first
// file's sync writes every file's data with its journal commit, so the
// others' cost little; the same goes for the directories.
func (bb *blobBatch) Commit(ctx context.Context) error {
	files := bb.added
	if len(files) == 0 {
		return nil
	}
	for _, st := range files {
		if err := st.f.Sync(); err != nil {
			return err
		}
	}
	var dirs []string
	for _, st := range files {
		if err := bb.s.place(st); err != nil {
			return err
		}
		dirs = append(dirs, filepath.Dir(bb.s.Path(st.blob.SHA256)))
	}
	slices.Sort(dirs)
	for _, d := range slices.Compact(dirs) {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	blobs := make([]server.Blob, len(files))
	for i, st := range files {
		blobs[i] = st.blob
	}
	if err := bb.s.recordBlobs(ctx, blobs, bb.actor); err != nil {
		return err
	}
	for _, st := range files {
		st.discard() // in place: only its descriptor is left
	}
	bb.added = nil
	return nil
}

// Close implements server.BlobBatch.
func (bb *blobBatch) Close() {
	for _, st := range bb.added {
		st.discard()
	}
	bb.added = nil
}

// stagingFile creates the file a blob is written to before it is placed:
// unnamed in the blob's shard directory where the system allows, else a
// hidden temporary file there.
func (s *BlobService) stagingFile(sha string) (f *os.File, tmp string, err error) {
	dir := filepath.Dir(s.Path(sha))
	if !s.noUnnamed.Load() {
		f, err := openUnnamed(dir)
		if err == nil {
			return f, "", nil
		}
		if !errors.Is(err, errNoUnnamed) {
			return nil, "", err
		}
		s.noUnnamed.Store(true) // not on this system or file system
	}
	f, err = os.CreateTemp(dir, ".staged-*")
	if err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}

// place puts a synced staged file under its hash, unless the same content
// is there already.
func (s *BlobService) place(st *stagedBlob) error {
	dst := s.Path(st.blob.SHA256)
	if st.tmp == "" {
		return linkUnnamed(st.f, dst) // fails on nothing but an existing name
	}
	moved, err := putInPlace(st.tmp, dst)
	if moved {
		st.tmp = "" // discard leaves it in place
	}
	return err
}

// recordBlobs records stored files in one transaction (insertBlobRows).
func (s *BlobService) recordBlobs(ctx context.Context, blobs []server.Blob, actor *server.User) error {
	return s.db.WithTx(ctx, func(tx *Tx) error { return insertBlobRows(tx, blobs, actor) })
}
