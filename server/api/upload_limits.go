package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/spotcheck/spotcheck/server"
)

// Limits on what devices may put on the server's disk: the quotas on
// unfinished uploads (server.UploadService, checked as an upload is created)
// and a floor of free disk space below which nothing new is written.

// DefaultMinFreeDisk is the free space below which uploads and device
// imports are refused: room for the database and logs to go on.
const DefaultMinFreeDisk = 1 << 30

// diskRetry is what a client refused for disk space is told to wait.
const diskRetry = 5 * time.Minute

// errNoSpace is the answer below the disk floor.
func errNoSpace() error {
	e := server.Errorf(server.ENOSPACE, "服务器存储空间不足，请稍后再传 (the server is low on disk space; try again later).")
	e.RetryAfter = diskRetry
	return e
}

// requireFreeDisk refuses a request that would write to disk (an upload's
// creation or chunk, a device import) while the free space, less what the
// request declares it brings, is below MinFreeDisk. A failing FreeDisk lets
// the request through (logged): the floor is a safeguard, not a gate.
func (s *Server) requireFreeDisk(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.FreeDisk == nil || s.MinFreeDisk == 0 {
			return next(c)
		}
		free, err := s.FreeDisk()
		if err != nil {
			s.Logger.WarnContext(c.Request().Context(), "free disk space unknown", slog.Any("err", err))
			return next(c)
		}
		need := s.MinFreeDisk
		r := c.Request()
		incoming := r.ContentLength
		if n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64); err == nil && n > incoming {
			incoming = n // an upload's creation: what it will bring
		}
		if incoming > 0 {
			need += uint64(incoming)
		}
		if free < need {
			s.Logger.WarnContext(r.Context(), "refused for disk space", slog.String("route", c.Path()),
				slog.Uint64("free_bytes", free), slog.Uint64("min_free_bytes", s.MinFreeDisk))
			return errNoSpace()
		}
		return next(c)
	}
}

// uploadSlotKey carries, through tusd, the upload an upload's creation
// recorded in the UploadService, so that a creation that fails after the
// hook gives it back.
type uploadSlotKey struct{}

type uploadSlot struct {
	id string
	// wholeFile: the creation's body is the whole file; whole is the upload
	// wholeFileStore created for it (without its info file).
	wholeFile bool
	whole     *wholeFileUpload
}

// withUploadSlot serves an upload's creation; if it does not end in 201
// Created, the upload the hook recorded is forgotten again, unless the
// upload is on disk: a creation carrying its first chunk
// (creation-with-upload) that was cut mid-body leaves an unfinished upload
// the device never learnt the Location of. It stays recorded, so the
// device's next creation of the same file supersedes it and removes its
// files (or the pruner does).
func (s *Server) withUploadSlot(create http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		slot := &uploadSlot{wholeFile: carriesWholeFile(r)}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), uploadSlotKey{}, slot)))
		s.withTusErrors(c, create)
		if slot.whole != nil && c.Response().Status != http.StatusCreated {
			if err := slot.whole.keepResumable(); err != nil {
				s.Logger.ErrorContext(r.Context(), "keeping a cut upload", slog.String("upload", slot.id), slog.Any("err", err))
			}
		}
		if slot.id != "" && c.Response().Status != http.StatusCreated && !uploadOnDisk(s.UploadDir, slot.id) {
			s.closeUpload(context.WithoutCancel(r.Context()), slot.id)
		}
		return nil
	}
}

// uploadOnDisk reports whether the file store holds an unfinished upload.
func uploadOnDisk(dir, id string) bool {
	if !uploadIDPattern.MatchString(id) {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, id+".info"))
	return err == nil
}

// openUpload records the upload about to be created under a fresh ID, or
// under the one the device named (want), and returns the ID; the device's
// superseded uploads of the same file are removed. A named ID that is
// already in use (by anyone, the device's own superseded uploads aside) is
// ECONFLICT: the device names another.
func (s *Server) openUpload(ctx context.Context, sha string, size int64, want string) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if want != "" {
		id = want
	}
	inUse := server.Errorf(server.ECONFLICT, "上传编号已被使用，请换一个 (the upload id is in use; name another).")
	if s.Uploads == nil {
		if want != "" && uploadOnDisk(s.UploadDir, id) {
			return "", inUse
		}
		return id, nil
	}
	superseded, err := s.Uploads.OpenUpload(ctx, &server.OpenUpload{ID: id, SHA256: sha, Size: size})
	if err != nil {
		return "", err
	}
	if slot, _ := ctx.Value(uploadSlotKey{}).(*uploadSlot); slot != nil {
		slot.id = id
	}
	for _, old := range superseded {
		if err := removeUpload(s.UploadDir, old); err != nil {
			s.Logger.WarnContext(ctx, "removing a superseded upload", slog.String("upload", old), slog.Any("err", err))
		}
	}
	if want != "" && uploadOnDisk(s.UploadDir, id) {
		// Files of an upload nobody holds any more (its record closed):
		// never written over.
		s.closeUpload(ctx, id)
		if slot, _ := ctx.Value(uploadSlotKey{}).(*uploadSlot); slot != nil {
			slot.id = ""
		}
		return "", inUse
	}
	return id, nil
}

// closeUpload forgets an upload for the quotas.
func (s *Server) closeUpload(ctx context.Context, id string) {
	if s.Uploads == nil {
		return
	}
	if err := s.Uploads.CloseUpload(ctx, id); err != nil {
		s.Logger.ErrorContext(ctx, "closing an upload", slog.String("upload", id), slog.Any("err", err))
	}
}

// removeUpload removes an unfinished upload's files.
func removeUpload(dir, id string) error {
	if !uploadIDPattern.MatchString(id) {
		return nil
	}
	var errs []error
	for _, name := range []string{id + ".info", id} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tusErrorOf is err as tusd answers it: the API's JSON body, the status of
// its code, and Retry-After when the error names one.
func tusErrorOf(err error) tusd.Error {
	code := server.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	te := tusError(status, code, server.ErrorMessage(err))
	if d := server.RetryAfter(err); d > 0 {
		te.HTTPResponse.Header["Retry-After"] = strconv.Itoa(int(math.Ceil(d.Seconds())))
	}
	return te
}

// ForgetPrunedUploads forgets, for the quotas, the uploads created before
// cutoff whose files are gone from dir (pruned, or never written).
func ForgetPrunedUploads(ctx context.Context, uploads server.UploadService, dir string, cutoff time.Time) (int, error) {
	ids, err := uploads.UploadsOpenedBefore(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(dir, id)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := uploads.CloseUpload(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
