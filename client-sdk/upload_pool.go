package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/spotcheck/spotcheck/syncproto"
)

// uploadAll uploads todo on Config.Uploads connections at once. One upload
// at a time leaves a slow uplink idle for a round trip at every chunk's
// answer and every new file; a second one fills those gaps, so the link
// stays busy. After the first failure no new file is started; the ones in
// flight finish or fail on their own (stopping them would throw away bytes
// the server is still taking), and the first error is returned. A file the
// server refuses for its content is no failure of the sync: it is not sent
// again, and the changes that refer to it come back rejected.
func (c *Client) uploadAll(ctx context.Context, todo []attachmentRow) error {
	workers := min(c.cfg.Uploads, len(todo))
	next := make(chan attachmentRow)
	var (
		failed   atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range next {
				err := c.upload(ctx, a)
				var ae *APIError
				if errors.As(err, &ae) && ae.Code == syncproto.CodeAttachmentRefused {
					// The server refused the file's content for good:
					// uploading it again cannot help. The push that follows
					// is answered with a rejection of every change that
					// refers to it, which the inspector sees.
					c.log.Warn("attachment refused by the server", "sha256", a.SHA256, "reason", ae.Message)
					continue
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("upload attachment %s: %w", a.SHA256[:12], err) })
					failed.Store(true)
					continue
				}
				c.updateProgress(func(p *Progress) { p.ItemsUp++ })
			}
		}()
	}
	for _, a := range todo {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		next <- a
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
