package sdk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Batch uploads (syncproto.PathAttachmentsBatch) carry several whole files in
// one request, stored by the server with one flush and one commit. Which
// files go in batches depends on the link: a cut batch loses the file in
// flight (there is no offset to resume from), so on a slow or unmeasured
// link only small files are batched, a chunk's worth at a time, and the
// rest go by tus, resumable mid-file; on a fast link a cut costs little and
// every file of at most a chunk is batched, fastBatchBytes at a time.
const (
	smallFileBytes = 64 << 10 // a signature; a photo is several times more
	fastBatchBytes = 2 << 20
)

// batchable reports whether a is sent in a batch on this link.
func (c *Client) batchable(a attachmentRow, fast bool) bool {
	if fast {
		return a.Size <= min(int64(c.cfg.ChunkSize), c.batchBytes(fast))
	}
	return a.Size <= min(smallFileBytes, c.batchBytes(fast))
}

// batchBytes is how many bytes of files a batch carries on this link: well
// within what the server takes, whatever the chunk size.
func (c *Client) batchBytes(fast bool) int64 {
	n := int64(c.cfg.ChunkSize)
	if fast {
		n = max(n, fastBatchBytes)
	}
	return min(n, syncproto.MaxBatchBytes/2)
}

// errNoBatches: the server does not take batch uploads (it answered 404);
// the files go by tus.
var errNoBatches = errors.New("the server takes no batch uploads")

// uploadBatch sends files in one batch upload and returns those the server
// stored; a file it refused for its content is logged and left out, as
// uploadAll does for tus. After a cut it asks the server which of the files
// it lacks (those that arrived whole before the cut are stored) and sends
// those again, at once after a first cut, with backoff after more.
func (c *Client) uploadBatch(ctx context.Context, files []attachmentRow, recovering func(bool)) (stored []string, err error) {
	todo := files
	cuts := 0
	for tries := 0; len(todo) > 0; tries++ {
		if tries > 50 {
			return stored, fmt.Errorf("%w: the batch upload makes no progress", ErrOffline)
		}
		open, size, contentType := c.batchBody(todo)
		h := http.Header{}
		h.Set("Content-Type", contentType)
		resp, err := c.callOnce(ctx, request{method: http.MethodPost, path: syncproto.PathAttachmentsBatch, stream: open, streamSize: size, header: h, auth: true})
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			return stored, errNoBatches
		case err != nil && isTransient(err):
			recovering(true)
			err := c.waitAfterCut(ctx, err, cuts, "batch_files", len(todo))
			cuts++
			if err != nil {
				return stored, err
			}
			missing, err := c.lacking(ctx, todo)
			recovering(false)
			if err != nil {
				return stored, err
			}
			var left []attachmentRow
			for _, a := range todo {
				if missing[a.SHA256] {
					left = append(left, a)
				} else {
					stored = append(stored, a.SHA256)
				}
			}
			if len(left) < len(todo) {
				cuts = 0 // the server took some: the link works
			}
			todo = left
			continue
		case err != nil:
			return stored, err
		}
		var out syncproto.BatchUploadResponse
		if err := json.Unmarshal(resp.body, &out); err != nil || len(out.Results) != len(todo) {
			return stored, fmt.Errorf("%w: undecodable answer to a batch upload", ErrOffline)
		}
		for i, r := range out.Results {
			a := todo[i]
			switch {
			case r.SHA256 != a.SHA256:
				return stored, fmt.Errorf("%w: the batch's answer is for %s, not %s", ErrOffline, r.SHA256, a.SHA256)
			case r.Status == syncproto.BatchStored:
				stored = append(stored, a.SHA256)
			case r.Code == syncproto.CodeAttachmentRefused:
				c.log.Warn("attachment refused by the server", "sha256", a.SHA256, "reason", r.Message)
			default:
				return stored, fmt.Errorf("upload attachment %s: %w", a.SHA256[:12], &APIError{Status: http.StatusUnprocessableEntity, Code: r.Code, Message: r.Message})
			}
		}
		return stored, nil
	}
	return stored, nil
}

// waitAfterCut waits before asking where a cut request got to: not at all
// after its first cut in a row (the link was there a moment ago), with
// backoff after more, or as long as the server's Retry-After says; what
// names the request (key and value) goes in the log.
func (c *Client) waitAfterCut(ctx context.Context, err error, cuts int, key string, value any) error {
	if cuts == 0 && errors.Is(err, errCut) {
		return nil
	}
	wait := c.backoff(min(cuts, 6))
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		wait = min(ae.RetryAfter, c.cfg.BackoffMax)
	}
	c.log.Debug("upload interrupted; waiting before asking where it got to", key, value, "err", err, "wait", wait)
	return sleep(ctx, wait)
}

// lacking asks the server which of files (at most
// syncproto.MaxHashesPerQuery) it does not hold.
func (c *Client) lacking(ctx context.Context, files []attachmentRow) (map[string]bool, error) {
	req := syncproto.MissingRequest{}
	for _, a := range files {
		req.Hashes = append(req.Hashes, a.SHA256)
	}
	var resp syncproto.MissingResponse
	if err := c.postJSON(ctx, syncproto.PathAttachmentsMissing, req, &resp, false); err != nil {
		return nil, err
	}
	missing := make(map[string]bool, len(resp.Missing))
	for _, h := range resp.Missing {
		missing[h] = true
	}
	return missing, nil
}

// batchBody is a batch upload's multipart/mixed body over files: a fresh
// reader for each attempt, reading the files from disk as it is sent (a
// batch is megabytes), and its size.
func (c *Client) batchBody(files []attachmentRow) (open func() (io.ReadCloser, error), size int64, contentType string) {
	var b [16]byte
	rand.Read(b[:])
	boundary := fmt.Sprintf("spotcheck-%x", b)
	// The framing mime/multipart writes: each part's delimiter and headers,
	// then the file; the closing delimiter after the last.
	frames := make([]string, len(files)+1)
	for i, a := range files {
		sep := "\r\n--"
		if i == 0 {
			sep = "--"
		}
		frames[i] = sep + boundary + "\r\nContent-Length: " + strconv.FormatInt(a.Size, 10) +
			"\r\nContent-Type: " + a.ContentType + "\r\n" + syncproto.HeaderBatchSHA256 + ": " + a.SHA256 + "\r\n\r\n"
		size += int64(len(frames[i])) + a.Size
	}
	frames[len(files)] = "\r\n--" + boundary + "--\r\n"
	size += int64(len(frames[len(files)]))
	open = func() (io.ReadCloser, error) {
		body := &batchReader{}
		for i, a := range files {
			f, err := os.Open(c.attachmentPath(a.SHA256))
			if err != nil {
				body.Close()
				return nil, fmt.Errorf("the attachment file is gone from the device: %w", err)
			}
			body.files = append(body.files, f)
			if st, err := f.Stat(); err != nil || st.Size() != a.Size {
				body.Close()
				return nil, fmt.Errorf("attachment %s is not %d bytes on the device", a.SHA256[:12], a.Size)
			}
			body.parts = append(body.parts, strings.NewReader(frames[i]), f)
		}
		body.parts = append(body.parts, strings.NewReader(frames[len(files)]))
		body.r = io.MultiReader(body.parts...)
		return body, nil
	}
	return open, size, syncproto.BatchMediaType + "; boundary=" + boundary
}

// batchReader is a batch body being sent, holding its files open.
type batchReader struct {
	r     io.Reader
	parts []io.Reader
	files []*os.File
}

func (b *batchReader) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *batchReader) Close() error {
	for _, f := range b.files {
		f.Close()
	}
	return nil
}
