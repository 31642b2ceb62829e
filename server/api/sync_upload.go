package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Resumable attachment uploads: tus 1.0 (core and creation) served by tusd's
// handler on a file store in Services.UploadDir, mounted under
// syncproto.PathUploads behind the same auth, role, protocol and device
// checks as the other sync routes. POST creates an upload (metadata sha256
// and content_type required, Upload-Length up to MaxAttachmentBytes); HEAD
// reports the offset the server holds; PATCH appends from it (409 on any
// other offset). When the last byte arrives, the whole file's SHA-256 is
// checked before the blob is recorded: a mismatch discards the upload and
// answers 422 invalid, so nothing can ever reference it; so is its content
// (syncproto.CheckAttachment): a file that is not the PNG or JPEG it claims
// to be is discarded with 422 attachment_refused, and mutations referring to
// it are rejected. Creations count against the quotas on unfinished uploads
// (429 quota_exceeded), and creations and chunks stop at the disk floor
// (507 insufficient_storage); see upload_limits.go.

// metaOwner is the upload metadata key naming the uploading user.
const metaOwner = "spotcheck_user"

// uploadIDPattern is the form of the file store's upload ids.
var uploadIDPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

func (s *Server) uploadRoutes(g *echo.Group) {
	if s.UploadDir == "" || s.Blobs == nil {
		panic("api: uploads need Services.UploadDir and Services.Blobs")
	}
	files := filestore.New(s.UploadDir)
	files.DirModePerm, files.FileModePerm = 0o700, 0o600 // uploads are personal data
	store := wholeFileStore{files}
	composer := tusd.NewStoreComposer()
	store.UseIn(composer)
	// One request at a time per upload: a device resuming right after a cut
	// may ask for the offset (HEAD) while the cut PATCH is still being
	// written; the lock makes that PATCH stop and store what it has first,
	// so the answer is the final offset and two PATCHes never append at once.
	memorylocker.New().UseIn(composer)
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:             composer,
		BasePath:                  syncproto.PathUploads + "/",
		MaxSize:                   syncproto.MaxAttachmentBytes,
		DisableDownload:           true,
		DisableTermination:        true,
		DisableConcatenation:      true,
		Cors:                      &tusd.CorsConfig{Disable: true},
		Logger:                    expslog.New(expslog.NewTextHandler(tusLog{s.Logger}, &expslog.HandlerOptions{Level: expslog.LevelWarn})),
		PreUploadCreateCallback:   s.preUploadCreate,
		PreFinishResponseCallback: s.preUploadFinish,
	})
	if err != nil {
		panic(fmt.Sprintf("api: upload handler: %v", err))
	}
	serve := func(fn http.HandlerFunc) echo.HandlerFunc {
		// tusd reads the upload id from a path stripped of its base path.
		wrapped := h.Middleware(http.StripPrefix(syncproto.PathUploads+"/", fn))
		return func(c echo.Context) error {
			s.withTusErrors(c, wrapped)
			return nil
		}
	}
	own := ownUpload(files)
	create := h.Middleware(http.HandlerFunc(h.PostFile))
	creating := newCreations()
	g.POST("", s.withUploadSlot(create), noMethodOverride, s.requireFreeDisk, creating.track)
	g.HEAD("/:id", serve(h.HeadFile), noMethodOverride, creating.settled, own)
	g.PATCH("/:id", serve(h.PatchFile), noMethodOverride, creating.settled, own, s.requireFreeDisk)
}

// noMethodOverride drops X-HTTP-Method-Override, which tusd would follow: the
// route, and so its checks, must be those of the real method.
func noMethodOverride(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Request().Header.Del("X-HTTP-Method-Override")
		return next(c)
	}
}

// ownUpload answers 404 for an upload that is not the caller's.
func ownUpload(store filestore.FileStore) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			u := server.UserFromContext(ctx)
			missing := server.Errorf(server.ENOTFOUND, "上传不存在 (upload not found).")
			id := c.Param("id")
			if u == nil || !uploadIDPattern.MatchString(id) {
				return missing
			}
			up, err := store.GetUpload(ctx, id)
			if err != nil {
				return missing
			}
			info, err := up.GetInfo(ctx)
			if err != nil || info.MetaData[metaOwner] != strconv.FormatInt(u.ID, 10) {
				return missing
			}
			return next(c)
		}
	}
}

// tusError is an error tusd answers with, in the body every API error has.
func tusError(status int, code, message string) tusd.Error {
	body, _ := json.Marshal(syncproto.Error{Code: code, Message: message})
	return tusd.Error{
		ErrorCode: code, Message: message,
		HTTPResponse: tusd.HTTPResponse{
			StatusCode: status, Body: string(body),
			Header: tusd.HTTPHeader{"Content-Type": "application/json; charset=UTF-8"},
		},
	}
}

// preUploadCreate admits only a device-bound inspector's upload of one PNG
// or JPEG of known length and declared SHA-256.
func (s *Server) preUploadCreate(hook tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	none := tusd.HTTPResponse{}
	u := server.UserFromContext(hook.Context)
	if u == nil || u.Role != server.RoleInspector || u.DeviceID == nil {
		return none, tusd.FileInfoChanges{}, tusError(http.StatusForbidden, server.EFORBIDDEN,
			"同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
	}
	meta := hook.Upload.MetaData
	switch ct := meta[syncproto.UploadMetaContentType]; {
	case !syncproto.ValidSHA256(meta[syncproto.UploadMetaSHA256]):
		return none, tusd.FileInfoChanges{}, tusError(http.StatusBadRequest, server.EINVALID,
			"上传须在元数据中给出sha256 (the upload needs its sha256, 64 lowercase hex digits, in Upload-Metadata).")
	case !syncproto.AttachmentType(ct):
		return none, tusd.FileInfoChanges{}, tusError(http.StatusBadRequest, server.EINVALID,
			"附件须为PNG或JPEG (content_type must be image/png or image/jpeg).")
	case hook.Upload.SizeIsDeferred || hook.Upload.Size <= 0:
		return none, tusd.FileInfoChanges{}, tusError(http.StatusBadRequest, server.EINVALID,
			"上传须给出Upload-Length (the upload needs an Upload-Length of at least 1 byte).")
	case meta[syncproto.UploadMetaID] != "" && !syncproto.ValidUploadID(meta[syncproto.UploadMetaID]):
		return none, tusd.FileInfoChanges{}, tusError(http.StatusBadRequest, server.EINVALID,
			"upload_id须为32位小写十六进制数 (upload_id must be 32 lowercase hex digits).")
	case hook.Upload.Size > syncproto.MaxAttachmentBytes:
		return none, tusd.FileInfoChanges{}, tusError(http.StatusRequestEntityTooLarge, server.ETOOLARGE,
			fmt.Sprintf("附件最大%d字节 (an attachment is at most %d bytes).", syncproto.MaxAttachmentBytes, syncproto.MaxAttachmentBytes))
	}
	// Within the device's and the user's quotas, or 429.
	id, err := s.openUpload(hook.Context, meta[syncproto.UploadMetaSHA256], hook.Upload.Size, meta[syncproto.UploadMetaID])
	if err != nil {
		return none, tusd.FileInfoChanges{}, tusErrorOf(err)
	}
	changed := tusd.MetaData{
		syncproto.UploadMetaSHA256:      meta[syncproto.UploadMetaSHA256],
		syncproto.UploadMetaContentType: meta[syncproto.UploadMetaContentType],
		metaOwner:                       strconv.FormatInt(u.ID, 10),
	}
	return none, tusd.FileInfoChanges{ID: id, MetaData: changed}, nil
}

// preUploadFinish verifies the whole file against its declared SHA-256 and
// moves it into the blob store; on a mismatch the upload is gone.
func (s *Server) preUploadFinish(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
	info := hook.Upload
	ctx := hook.Context
	if ctx == nil {
		ctx = context.Background()
	}
	b := &server.Blob{SHA256: info.MetaData[syncproto.UploadMetaSHA256], ContentType: info.MetaData[syncproto.UploadMetaContentType]}
	// Stored, the blob's transaction closes the upload's record too.
	ctx = server.NewContextWithUpload(ctx, info.ID)
	if slot, _ := ctx.Value(uploadSlotKey{}).(*uploadSlot); slot != nil && slot.whole != nil && slot.whole.written != nil {
		ctx = server.NewContextWithFileHash(ctx, *slot.whole.written) // hashed as it was written
	}
	err := s.Blobs.AddBlob(ctx, info.Storage[filestore.StorageKeyPath], b)
	if p := info.Storage[filestore.StorageKeyInfoPath]; p != "" && (err == nil || server.ErrorCode(err) != server.EINTERNAL) {
		os.Remove(p) // the upload is finished either way
		if err != nil {
			s.closeUpload(ctx, info.ID)
		}
	}
	if err != nil {
		code := server.ErrorCode(err)
		if code == server.EINTERNAL {
			s.Logger.ErrorContext(ctx, "upload finish failed", slog.String("upload", info.ID), slog.Any("err", err))
			return tusd.HTTPResponse{}, tusError(http.StatusInternalServerError, code, "Internal error.")
		}
		status := http.StatusUnprocessableEntity
		if code != server.EINVALID {
			status = statuses[code]
		}
		return tusd.HTTPResponse{}, tusError(status, code, server.ErrorMessage(err))
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{"Spotcheck-Blob": b.SHA256}}, nil
}

// tusLog passes tusd's warnings and errors (it logs every request at info,
// which it is told to drop) to the server's log, one line each.
type tusLog struct{ log *slog.Logger }

func (l tusLog) Write(p []byte) (int, error) {
	l.log.Warn("upload handler", slog.String("tusd", strings.TrimSpace(string(p))))
	return len(p), nil
}
