package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/spotcheck/spotcheck/server"
)

// wholeFileStore is tusd's file store, except that an upload created with
// its whole file in the creation request (creation-with-upload of a file
// that fits one request, the common case) gets no ID.info file unless the
// request fails to store it: a stored file leaves the upload directory at
// once, so the info file would be created and removed unread. On this
// server's disks that is a third of an upload's file-system work (a new
// inode, a write, an unlink). A creation that ends otherwise (cut mid-body,
// an internal error) writes the info file then (keepResumable), so the
// upload resumes from its name like any other.
type wholeFileStore struct {
	filestore.FileStore
}

// UseIn registers the store with the composer as filestore.UseIn does.
// Termination, concatenation and downloads are disabled on the handler; the
// length deferrer only answers creations the creation hook refused already.
func (store wholeFileStore) UseIn(composer *tusd.StoreComposer) {
	composer.UseCore(store)
	composer.UseLengthDeferrer(store)
}

// NewUpload implements tusd.DataStore.
func (store wholeFileStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	slot, _ := ctx.Value(uploadSlotKey{}).(*uploadSlot)
	if slot == nil || !slot.wholeFile || info.SizeIsDeferred || !uploadIDPattern.MatchString(info.ID) {
		return store.FileStore.NewUpload(ctx, info)
	}
	bin := filepath.Join(store.Path, info.ID)
	info.Storage = map[string]string{
		"Type":                       "filestore",
		filestore.StorageKeyPath:     bin,
		filestore.StorageKeyInfoPath: bin + ".info",
	}
	f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, store.FileModePerm)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	u := &wholeFileUpload{info: info, perm: store.FileModePerm}
	slot.whole = u
	return u, nil
}

// AsLengthDeclarableUpload implements tusd.LengthDeferrerDataStore.
func (store wholeFileStore) AsLengthDeclarableUpload(upload tusd.Upload) tusd.LengthDeclarableUpload {
	if u, ok := upload.(*wholeFileUpload); ok {
		return u
	}
	return store.FileStore.AsLengthDeclarableUpload(upload)
}

// wholeFileUpload is an upload created with its whole file.
type wholeFileUpload struct {
	info tusd.FileInfo
	perm fs.FileMode
	// written is the file's hash, computed as it was written, once the
	// whole file is.
	written *server.FileHash
}

func (u *wholeFileUpload) GetInfo(context.Context) (tusd.FileInfo, error) { return u.info, nil }

func (u *wholeFileUpload) WriteChunk(_ context.Context, _ int64, src io.Reader) (int64, error) {
	f, err := os.OpenFile(u.info.Storage[filestore.StorageKeyPath], os.O_WRONLY|os.O_APPEND, u.perm)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(f, io.TeeReader(src, h))
	u.info.Offset += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && u.info.Offset == u.info.Size && n == u.info.Size {
		u.written = &server.FileHash{Path: u.info.Storage[filestore.StorageKeyPath], SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	}
	return n, err
}

func (u *wholeFileUpload) GetReader(context.Context) (io.ReadCloser, error) {
	return os.Open(u.info.Storage[filestore.StorageKeyPath])
}

func (u *wholeFileUpload) FinishUpload(context.Context) error { return nil }

// DeclareLength is never reached: the creation hook refuses deferred
// lengths before an upload exists.
func (u *wholeFileUpload) DeclareLength(context.Context, int64) error {
	return errors.New("an upload created with its whole file has its length")
}

// keepResumable writes the info file of an upload whose creation did not end
// with the file stored, if its data file is still there (not refused, not
// moved to the blob store), as tusd's file store would have at the creation.
func (u *wholeFileUpload) keepResumable() error {
	if _, err := os.Stat(u.info.Storage[filestore.StorageKeyPath]); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	data, err := json.Marshal(u.info)
	if err != nil {
		return err
	}
	return os.WriteFile(u.info.Storage[filestore.StorageKeyInfoPath], data, u.perm)
}

// carriesWholeFile reports whether r is an upload creation whose body is
// the whole file (its Content-Length is the Upload-Length).
func carriesWholeFile(r *http.Request) bool {
	if r.Header.Get("Content-Type") != "application/offset+octet-stream" || r.ContentLength <= 0 {
		return false
	}
	n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	return err == nil && n == r.ContentLength
}
