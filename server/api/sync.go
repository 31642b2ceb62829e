package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Sync routes: push, pull and the "which attachments are missing" query for
// field devices, resumable uploads (sync_upload.go) and attachment reads.
//
// Protocol versions: every sync and upload request carries
// syncproto.HeaderProtocol, and every answer carries the server's. A missing
// or unparsable header, or a version below syncproto.MinProtocolVersion, is
// answered 426 upgrade_required. A version above the server's is refused
// with 400 invalid rather than upgrade_required, which would tell the
// inspector to upgrade an app that is already newer than the server: the
// client reads the server's version from the answer's header. A request is
// served only when its version is one the server speaks
// (MinProtocolVersion..ProtocolVersion, today exactly 1).
func (s *Server) syncRoutes(v1 *echo.Group) {
	s.pullsWaiting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "spotcheck_sync_pulls_waiting", Help: "Pulls waiting for changes (long polls) now.",
	})
	s.registry.MustRegister(s.pullsWaiting)
	g := v1.Group("/sync", allow(fieldOnly), requireProtocol, requireDevice)
	g.POST(strings.TrimPrefix(syncproto.PathPush, "/v1/sync"), s.handlePush, compressAnswer)
	g.POST(strings.TrimPrefix(syncproto.PathPull, "/v1/sync"), s.handlePull, compressAnswer)
	g.POST(strings.TrimPrefix(syncproto.PathAttachmentsMissing, "/v1/sync"), s.handleAttachmentsMissing, compressAnswer)
	g.POST(strings.TrimPrefix(syncproto.PathAttachmentsBatch, "/v1/sync"), s.handleAttachmentsBatch, s.requireFreeDisk, compressAnswer)
	s.uploadRoutes(v1.Group(strings.TrimPrefix(syncproto.PathUploads, "/v1"), allow(fieldOnly), requireProtocol, requireDevice))
	v1.GET(strings.TrimPrefix(syncproto.PathAttachments, "/v1")+"/:id", s.handleAttachment, allow(anyRole))
}

// compressAnswer gzips a sync answer (pull, push, missing) for a client that
// sent Accept-Encoding: gzip (and only then, so a client that does not ask
// gets JSON as before). A pull page is JSON that gzip shrinks elevenfold at
// level 3, which compress/flate runs at about 400 MB/s here, faster than
// level 1 and smaller; the default level 6 shrinks it 14-fold at 2.5 times
// the CPU (docs/benchmarks.md), and the server's CPU is what a fleet's
// evening shares. Answers under 1 KiB (a no-op pull) are sent as they are.
var compressAnswer = middleware.GzipWithConfig(middleware.GzipConfig{Level: 3, MinLength: 1024})

// requireProtocol refuses clients that speak another protocol version.
func requireProtocol(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
		h.Set(syncproto.HeaderPushLimit, strconv.Itoa(syncproto.PushLimitMax))
		h.Set(syncproto.HeaderPullLimit, strconv.Itoa(syncproto.PullLimitMax))
		p := c.Request().Header.Get(syncproto.HeaderProtocol)
		v, err := strconv.Atoi(p)
		switch {
		case p == "" || err != nil || v < syncproto.MinProtocolVersion:
			return server.Errorf(server.EUPGRADE, "请升级客户端 (upgrade the app).")
		case v > syncproto.ProtocolVersion:
			return server.Errorf(server.EINVALID, "服务器仅支持同步协议版本%d (the server speaks sync protocol version %d; this client speaks %d).",
				syncproto.ProtocolVersion, syncproto.ProtocolVersion, v)
		}
		return next(c)
	}
}

// requireDevice refuses sessions not bound to a registered device.
func requireDevice(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := server.UserFromContext(c.Request().Context()); u == nil || u.DeviceID == nil {
			return server.Errorf(server.EFORBIDDEN, "同步须使用已登记设备登录 (sync needs a session bound to a registered device).")
		}
		return next(c)
	}
}

// checkDevice refuses a request naming another device than the token's.
func checkDevice(c echo.Context, deviceID int64) error {
	u := server.UserFromContext(c.Request().Context())
	if u == nil || u.DeviceID == nil || *u.DeviceID != deviceID {
		return server.Errorf(server.EFORBIDDEN, "请求的设备与登录设备不一致 (the device is not the one this session is bound to).")
	}
	return nil
}

// readSyncBody reads a JSON body of at most limit bytes after decompression.
// Content-Encoding gzip is accepted; more than limit decompressed bytes (a
// gzip bomb) is ETOOLARGE, and nothing has been applied by then.
func readSyncBody(c echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	if mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return nil, server.Errorf(server.EUNSUPPORTED, "请求须为JSON (Content-Type must be application/json).")
	}
	// On the wire, a compressed body is never much larger than its content.
	var r io.Reader = http.MaxBytesReader(c.Response(), req.Body, limit+limit/16+4096)
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get(echo.HeaderContentEncoding))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, tooLargeOr(err, server.Errorf(server.EINVALID, "gzip数据无效 (malformed gzip body)."))
		}
		defer zr.Close()
		r = zr
	default:
		return nil, server.Errorf(server.EUNSUPPORTED, "不支持的内容编码%q (Content-Encoding %q is not supported; use gzip).", enc, enc)
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, tooLargeOr(err, server.Errorf(server.EINVALID, "请求体无效 (unreadable body)."))
	}
	if int64(len(body)) > limit {
		return nil, server.Errorf(server.ETOOLARGE, "请求体解压后超过%d字节 (the body is over %d bytes decompressed).", limit, limit)
	}
	return body, nil
}

func tooLargeOr(err error, otherwise error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return server.Errorf(server.ETOOLARGE, "请求体过大 (request body too large).")
	}
	return otherwise
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return server.Errorf(server.EINVALID, "请求体只能包含一个JSON值 (body must hold exactly one JSON value).")
	}
	return nil
}

// invalid turns a syncproto validation error into EINVALID.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	return server.Errorf(server.EINVALID, "请求无效 (%s).", err)
}

// handlePush applies a batch of the device's mutations. The envelope (device,
// batch size, sequence order) must be valid; a mutation that breaks its own
// rules is rejected on its own and still advances the sequence.
func (s *Server) handlePush(c echo.Context) error {
	body, err := readSyncBody(c, syncproto.MaxPushBytes)
	if err != nil {
		return err
	}
	var req syncproto.PushRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := server.ValidatePushEnvelope(&req); err != nil {
		return err
	}
	if err := checkDevice(c, req.DeviceID); err != nil {
		return err
	}
	// Each mutation as received, for the mutation log.
	var raw struct {
		Mutations []json.RawMessage `json:"mutations"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Mutations) != len(req.Mutations) {
		return server.Errorf(server.EINVALID, "请求体无效 (invalid body).")
	}
	resp, err := s.Sync.Push(c.Request().Context(), &req, raw.Mutations)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// handlePull returns the changes after the device's cursor. With
// wait_seconds, a pull that finds nothing waits (at most MaxPullWait) for a
// change for the device's inspector and answers as soon as one commits: a
// device online gets a new or changed packet within seconds. It answers with
// nothing when the wait is over or the server shuts down; no database
// connection is held while it waits.
func (s *Server) handlePull(c echo.Context) error {
	body, err := readSyncBody(c, DefaultBodyLimit)
	if err != nil {
		return err
	}
	var req syncproto.PullRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := invalid(req.Validate()); err != nil {
		return err
	}
	if err := checkDevice(c, req.DeviceID); err != nil {
		return err
	}
	req.AckOwn = strings.EqualFold(strings.TrimSpace(c.Request().Header.Get(syncproto.HeaderOwnChanges)), syncproto.OwnChangesAck)
	ctx := c.Request().Context()
	var resp *syncproto.PullResponse
	u := server.UserFromContext(ctx)
	if wait := pullWait(req.WaitSeconds, s.MaxPullWait); wait > 0 && u.InspectorID != nil {
		c.Set(longPollKey, true)
		resp, err = s.longPoll(ctx, &req, *u.InspectorID, wait)
		if err != nil && ctx.Err() != nil {
			// The device gave up waiting (it has a change of its own to
			// push, or it stopped): routine, not a server error.
			return c.NoContent(statusClientClosedRequest)
		}
	} else {
		resp, err = s.Sync.Pull(ctx, &req)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// statusClientClosedRequest is the status logged and counted for a long
// poll the client cancelled while it waited (nginx's 499); the client never
// sees it.
const statusClientClosedRequest = 499

// longPollKey marks a pull that may have waited, so that its time is not
// counted as the route's latency (see observe).
const longPollKey = "spotcheck.long_poll"

// pullWait is how long a pull asking for seconds waits, at most max.
func pullWait(seconds int, max time.Duration) time.Duration {
	if seconds <= 0 || max <= 0 {
		return 0
	}
	return min(time.Duration(seconds)*time.Second, max)
}

// longPoll pulls, and while there is nothing to return waits for a change
// for the inspector, then pulls again. The feed is watched before each pull,
// so a change that commits between the pull and the wait still wakes it.
// Another process's commit wakes it within about a second (store.FeedInterval).
func (s *Server) longPoll(ctx context.Context, req *syncproto.PullRequest, inspectorID int64, wait time.Duration) (*syncproto.PullResponse, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	s.pullsWaiting.Inc()
	defer s.pullsWaiting.Dec()
	for {
		changed, stop := s.Sync.WatchChanges(inspectorID)
		resp, err := s.Sync.Pull(ctx, req)
		if err != nil || len(resp.Changes) > 0 || resp.More || resp.Reset {
			stop()
			return resp, err
		}
		// Nothing for this device up to the log's head: look again from there.
		req.Cursor = resp.Cursor
		select {
		case <-changed:
			stop()
		case <-timer.C:
			stop()
			return resp, nil
		case <-s.draining:
			stop()
			return resp, nil
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		}
	}
}

// handleAttachmentsMissing says which attachments the server lacks.
func (s *Server) handleAttachmentsMissing(c echo.Context) error {
	body, err := readSyncBody(c, DefaultBodyLimit)
	if err != nil {
		return err
	}
	var req syncproto.MissingRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := invalid(req.Validate()); err != nil {
		return err
	}
	// Files of a cut batch upload still being handled are not known yet.
	if u := server.UserFromContext(c.Request().Context()); u != nil && u.DeviceID != nil {
		s.batches.waitFor(c.Request().Context(), *u.DeviceID, req.Hashes)
	}
	missing, err := s.Sync.MissingBlobs(c.Request().Context(), req.Hashes)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, syncproto.MissingResponse{Missing: missing})
}

// handleAttachment streams an attachment to a caller who may read a packet
// that references it; to anyone else it does not exist.
func (s *Server) handleAttachment(c echo.Context) error {
	b, f, err := s.Blobs.OpenBlob(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveUploaded(c, b, f, "private, max-age=31536000, immutable")
	return nil
}
