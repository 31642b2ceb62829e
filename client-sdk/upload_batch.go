package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"time"

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
		body, contentType, err := c.batchBody(todo)
		if err != nil {
			return stored, err
		}
		h := http.Header{}
		h.Set("Content-Type", contentType)
		resp, err := c.callOnce(ctx, request{method: http.MethodPost, path: syncproto.PathAttachmentsBatch, body: body, header: h, auth: true})
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			return stored, errNoBatches
		case err != nil && isTransient(err):
			c.log.Debug("batch upload cut; asking the server what it lacks", "files", len(todo), "err", err)
			recovering(true)
			wait := time.Duration(0)
			if cuts > 0 || !errors.Is(err, errCut) {
				wait = c.backoff(min(cuts, 6))
			}
			if errors.As(err, &ae) && ae.RetryAfter > 0 {
				wait = min(ae.RetryAfter, c.cfg.BackoffMax)
			}
			cuts++
			if err := sleep(ctx, wait); err != nil {
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
				return stored, &APIError{Status: http.StatusUnprocessableEntity, Code: r.Code, Message: r.Message}
			}
		}
		return stored, nil
	}
	return stored, nil
}

// lacking asks the server which of files it does not hold.
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

// batchBody writes files as a batch upload's multipart/mixed body.
func (c *Client) batchBody(files []attachmentRow) (body []byte, contentType string, err error) {
	var total int64
	for _, a := range files {
		total += a.Size
	}
	var buf bytes.Buffer
	buf.Grow(int(total) + 256*len(files))
	w := multipart.NewWriter(&buf)
	var b [16]byte
	rand.Read(b[:])
	if err := w.SetBoundary(fmt.Sprintf("spotcheck-%x", b)); err != nil {
		return nil, "", err
	}
	for _, a := range files {
		data, err := os.ReadFile(c.attachmentPath(a.SHA256))
		if err != nil {
			return nil, "", fmt.Errorf("the attachment file is gone from the device: %w", err)
		}
		if int64(len(data)) != a.Size {
			return nil, "", fmt.Errorf("attachment %s is %d bytes on the device, not %d", a.SHA256[:12], len(data), a.Size)
		}
		part, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {a.ContentType},
			"Content-Length":            {strconv.FormatInt(a.Size, 10)},
			syncproto.HeaderBatchSHA256: {a.SHA256},
		})
		if err != nil {
			return nil, "", err
		}
		part.Write(data)
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), syncproto.BatchMediaType + "; boundary=" + w.Boundary(), nil
}
