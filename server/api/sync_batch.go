package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Batch uploads (syncproto.PathAttachmentsBatch): several whole attachments
// in one multipart/mixed request. Each part is written straight to the blob
// store's directory and checked as it arrives (hash and content, as a tus
// upload's last byte is); at the end the files are synced, placed and
// recorded together. A part that ends the body early (a cut) keeps the
// files before it, which arrived whole and verified: the device asks which
// are missing and sends those again. A malformed part refuses the whole
// request, and nothing of it is kept.

// maxBatchesPerDevice bounds the batches a device sends at once: each holds
// up to syncproto.MaxBatchBytes of disk until it ends. A device refused
// waits batchRetry, about a batch's time on a slow link.
const (
	maxBatchesPerDevice = 8
	batchRetry          = time.Minute
)

// batchesInFlight are the batch uploads running, by device, each with the
// hashes of the parts it has begun. A device whose batch was cut asks at
// once which files are missing; if the server is still handling the cut
// request, the files that arrived whole are not recorded yet and would be
// sent again. So that question waits for the device's batches that carry
// any of the files asked about (see waitFor), as a tus HEAD waits for a
// cut creation.
type batchesInFlight struct {
	mu       sync.Mutex
	byDevice map[int64][]*runningBatch
	// wait bounds a question's wait (maxBatchWait when zero): a batch whose
	// connection went silent rather than broke ends only at the body's rate
	// limit, and the device should not wait for that.
	wait time.Duration
}

// maxBatchWait is the longest a missing question waits for batches.
const maxBatchWait = 10 * time.Second

// runningBatch is one batch upload being handled.
type runningBatch struct {
	hashes map[string]bool // guarded by batchesInFlight.mu
	done   chan struct{}   // closed when it ends
}

// enter registers a batch of the device; nil when the device has
// maxBatchesPerDevice running.
func (b *batchesInFlight) enter(device int64) *runningBatch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byDevice == nil {
		b.byDevice = map[int64][]*runningBatch{}
	}
	if len(b.byDevice[device]) >= maxBatchesPerDevice {
		return nil
	}
	rb := &runningBatch{hashes: map[string]bool{}, done: make(chan struct{})}
	b.byDevice[device] = append(b.byDevice[device], rb)
	return rb
}

// begin records that rb is receiving the file sha.
func (b *batchesInFlight) begin(rb *runningBatch, sha string) {
	b.mu.Lock()
	rb.hashes[sha] = true
	b.mu.Unlock()
}

// leave ends rb: its files are stored or discarded by now.
func (b *batchesInFlight) leave(device int64, rb *runningBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	left := slices.DeleteFunc(b.byDevice[device], func(x *runningBatch) bool { return x == rb })
	if len(left) == 0 {
		delete(b.byDevice, device)
	} else {
		b.byDevice[device] = left
	}
	close(rb.done)
}

// waitFor waits until none of the device's running batches carries any of
// hashes, nor may (it has not begun a part yet), at most b.wait, or until
// ctx ends.
func (b *batchesInFlight) waitFor(ctx context.Context, device int64, hashes []string) {
	bound := b.wait
	if bound <= 0 {
		bound = maxBatchWait
	}
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		var busy *runningBatch
		b.mu.Lock()
		for _, rb := range b.byDevice[device] {
			if len(rb.hashes) == 0 || slices.ContainsFunc(hashes, func(h string) bool { return rb.hashes[h] }) {
				busy = rb
				break
			}
		}
		b.mu.Unlock()
		if busy == nil {
			return
		}
		select {
		case <-busy.done:
		case <-ctx.Done():
			return
		case <-timeout.C:
			return
		}
	}
}

// batchPartHeaders are the headers a part must have, and the only ones.
var batchPartHeaders = []string{"Content-Type", "Content-Length", syncproto.HeaderBatchSHA256}

// batchPart is a part's declared file.
type batchPart struct {
	blob server.Blob
	size int64
}

// parseBatchPart checks a part's headers.
func parseBatchPart(h textproto.MIMEHeader) (*batchPart, error) {
	bad := func(why string) error {
		return server.Errorf(server.EINVALID, "批量上传的分段无效：%s (a part of the batch is malformed: %s).", why, why)
	}
	if len(h) != len(batchPartHeaders) || slices.ContainsFunc(batchPartHeaders, func(k string) bool { return len(h[k]) != 1 }) {
		return nil, bad("a part has exactly the headers Content-Type, Content-Length and " + syncproto.HeaderBatchSHA256)
	}
	p := &batchPart{blob: server.Blob{SHA256: h.Get(syncproto.HeaderBatchSHA256), ContentType: h.Get("Content-Type")}}
	size, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	switch {
	case !syncproto.ValidSHA256(p.blob.SHA256):
		return nil, bad(syncproto.HeaderBatchSHA256 + " must be 64 lowercase hex digits")
	case !syncproto.AttachmentType(p.blob.ContentType):
		return nil, bad("Content-Type must be image/png or image/jpeg")
	case err != nil || size < 1 || size > syncproto.MaxAttachmentBytes:
		return nil, bad("Content-Length must be 1 to " + strconv.Itoa(syncproto.MaxAttachmentBytes))
	}
	p.size = size
	return p, nil
}

// readErr remembers the error its reader returned, other than io.EOF:
// a cut body, as opposed to a part that ended.
type readErr struct {
	r   io.Reader
	n   int64
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func errBatchTooLarge() error {
	return server.Errorf(server.ETOOLARGE, "批量上传最多%d字节 (a batch upload is at most %d bytes).", syncproto.MaxBatchBytes, syncproto.MaxBatchBytes)
}

// errBatchCut: the body ended early (cut off, or without its closing
// boundary); the parts before were read whole.
var errBatchCut = errors.New("the batch's body ended early")

// readBatch reads a batch upload's body, of at most syncproto.MaxBatchBytes,
// handing each part's file to store with a reader of exactly its declared
// length. A malformed body is an EINVALID (ETOOLARGE over the limit) error;
// a body that ends early is errBatchCut, wrapping the read error.
func readBatch(body io.Reader, boundary string, store func(p *batchPart, r io.Reader) (syncproto.BatchResult, error)) ([]syncproto.BatchResult, error) {
	src := &readErr{r: body}
	mr := multipart.NewReader(src, boundary)
	var results []syncproto.BatchResult
	cut := func() error {
		var mb *http.MaxBytesError
		if errors.As(src.err, &mb) {
			return errBatchTooLarge()
		}
		return fmt.Errorf("%w: %v", errBatchCut, src.err)
	}
	wrongLength := server.Errorf(server.EINVALID, "批量上传的分段长度与Content-Length不符 (a part is not its Content-Length bytes long).")
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if src.err != nil || errors.Is(err, io.ErrUnexpectedEOF) {
			return results, cut()
		}
		if err != nil {
			return results, server.Errorf(server.EINVALID, "批量上传的请求体无效 (the batch's body is not multipart/mixed: %s).", err)
		}
		if len(results) == syncproto.MaxBatchFiles {
			return results, server.Errorf(server.EINVALID, "批量上传最多%d个文件 (a batch upload has at most %d files).", syncproto.MaxBatchFiles, syncproto.MaxBatchFiles)
		}
		p, err := parseBatchPart(part.Header)
		if err != nil {
			return results, err
		}
		data := &readErr{r: part}
		r, err := store(p, io.LimitReader(data, p.size))
		if src.err != nil || data.err != nil {
			return results, cut() // broken off inside this part, which is not kept
		}
		if err != nil {
			return results, err
		}
		if data.n != p.size {
			return results, wrongLength
		}
		if n, _ := io.ReadFull(data, make([]byte, 1)); n > 0 {
			return results, wrongLength
		}
		if src.err != nil || data.err != nil {
			return results, cut()
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return nil, server.Errorf(server.EINVALID, "批量上传至少包含一个文件 (a batch upload has at least one file).")
	}
	return results, nil
}

// handleAttachmentsBatch stores the files of a batch upload.
func (s *Server) handleAttachmentsBatch(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()
	u := server.UserFromContext(ctx)
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	// A boundary is 1 to 70 characters (RFC 2046).
	if b := params["boundary"]; err != nil || mt != syncproto.BatchMediaType || b == "" || len(b) > 70 {
		return server.Errorf(server.EUNSUPPORTED, "批量上传须为multipart/mixed，分隔符1至70个字符 (a batch upload is multipart/mixed with a boundary of 1 to 70 characters).")
	}
	if enc := strings.TrimSpace(req.Header.Get(echo.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return server.Errorf(server.EUNSUPPORTED, "批量上传不接受内容编码 (a batch upload takes no Content-Encoding: images do not compress).")
	}
	if req.ContentLength > syncproto.MaxBatchBytes {
		return errBatchTooLarge()
	}
	running := s.batches.enter(*u.DeviceID)
	if running == nil {
		e := server.Errorf(server.EQUOTA, "该设备同时进行的批量上传已达%d个，请稍后再传 (this device has %d batch uploads running, the most allowed).", maxBatchesPerDevice, maxBatchesPerDevice)
		e.RetryAfter = batchRetry
		return e
	}
	defer s.batches.leave(*u.DeviceID, running)
	if s.Uploads != nil {
		declared := req.ContentLength
		if declared < 0 {
			declared = syncproto.MaxBatchBytes
		}
		if err := s.Uploads.CheckBatch(ctx, declared); err != nil {
			return err
		}
	}
	// Whole files are stored even if the device goes away meanwhile.
	ctx = context.WithoutCancel(ctx)
	batch, err := s.Blobs.NewBatch(ctx)
	if err != nil {
		return err
	}
	defer batch.Close() // what was not committed
	results, err := readBatch(http.MaxBytesReader(c.Response(), req.Body, syncproto.MaxBatchBytes), params["boundary"],
		func(p *batchPart, r io.Reader) (syncproto.BatchResult, error) {
			s.batches.begin(running, p.blob.SHA256)
			res := syncproto.BatchResult{SHA256: p.blob.SHA256, Status: syncproto.BatchStored}
			err := batch.Add(ctx, &p.blob, r)
			if code := server.ErrorCode(err); err != nil && (code == server.EINVALID || code == server.EREFUSED) {
				res.Status, res.Code, res.Message, err = syncproto.BatchRefused, code, server.ErrorMessage(err), nil
			}
			return res, err
		})
	if errors.Is(err, errBatchCut) {
		// The files before the break arrived whole and verified: kept.
		if err := batch.Commit(ctx); err != nil {
			return err
		}
		s.Logger.InfoContext(ctx, "batch upload ended early", slog.Int("files_kept", len(results)), slog.Any("err", err))
		return server.Errorf(server.EINVALID, "批量上传的请求体不完整，之前完整到达的文件已保存 (the batch's body ended early; the files before the break were kept).")
	}
	if err != nil {
		return err
	}
	if err := batch.Commit(ctx); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, syncproto.BatchUploadResponse{Results: results})
}
