package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// uploadAll uploads todo, several at once. One upload at a time leaves a
// slow uplink idle for a round trip at every chunk's answer and every new
// file; more fill those gaps, so the link stays busy. How many: Config.Uploads
// if the app set it, otherwise as many as the link's bandwidth-delay product
// needs (linkStats.uploads), measured again as files finish, so a fast link
// with a long round trip gets more and a slow one no more than it can fill,
// plus one for each upload cut and waiting to learn its offset.
// After the first failure no new file is started; the ones in flight finish
// or fail on their own (stopping them would throw away bytes the server is
// still taking), and the first error is returned. A file the server refuses
// for its content is no failure of the sync: it is not sent again, and the
// changes that refer to it come back rejected.
func (c *Client) uploadAll(ctx context.Context, todo []attachmentRow) error {
	if len(todo) == 0 {
		return ctx.Err()
	}
	var (
		mu       sync.Mutex
		next     int // index in todo of the next file to start
		running  int // workers
		busy     int // workers holding a file
		failed   bool
		firstErr error
		wg       sync.WaitGroup
		done     int64 // bytes of finished files
		finished []string
		start    = time.Now()
		// recovering counts uploads cut and waiting to learn their offset:
		// each lets one more file start meanwhile (up to maxUploads, when
		// the SDK chooses), so the link carries bytes through those round
		// trips instead of idling.
		recovering int
	)
	var reqBytes int64 // the average request: a file, or a chunk of a big one
	for _, a := range todo {
		reqBytes += min(a.Size, int64(c.cfg.ChunkSize))
	}
	reqBytes /= int64(len(todo))
	target := func() int {
		if !c.autoUploads {
			return c.cfg.Uploads // the app's choice is a limit
		}
		return min(c.link.uploads(reqBytes)+recovering, maxUploads)
	}
	names := c.startUploadNames()
	var spawn func()
	onRecovering := func(on bool) {
		mu.Lock()
		if on {
			recovering++
		} else {
			recovering--
		}
		mu.Unlock()
		if on {
			spawn()
		}
	}
	worker := func() {
		defer wg.Done()
		for {
			mu.Lock()
			if failed || next >= len(todo) || ctx.Err() != nil || running > target() {
				running--
				mu.Unlock()
				return
			}
			a := todo[next]
			next++
			busy++
			mu.Unlock()

			err := c.upload(ctx, a, onRecovering, names)
			mu.Lock()
			busy--
			mu.Unlock()
			var ae *APIError
			switch {
			case errors.As(err, &ae) && ae.Code == syncproto.CodeAttachmentRefused:
				// The server refused the file's content for good:
				// uploading it again cannot help. The push that follows
				// is answered with a rejection of every change that
				// refers to it, which the inspector sees.
				c.log.Warn("attachment refused by the server", "sha256", a.SHA256, "reason", ae.Message)
			case err != nil:
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("upload attachment %s: %w", a.SHA256[:12], err)
				}
				failed = true
				mu.Unlock()
			default:
				c.updateProgress(func(p *Progress) { p.ItemsUp++ })
				mu.Lock()
				done += a.Size
				finished = append(finished, a.SHA256)
				if running >= minUploads {
					// All workers busy since start: the rate of the link.
					c.link.observeRate(done, time.Since(start))
				}
				mu.Unlock()
				spawn()
			}
		}
	}
	// spawn starts workers up to the target, no more than the files left
	// for workers not holding one.
	spawn = func() {
		mu.Lock()
		defer mu.Unlock()
		for running < target() && running-busy < len(todo)-next && !failed {
			running++
			wg.Add(1)
			go worker()
		}
	}
	spawn()
	wg.Wait()
	// The names first: a finished file's is then cleared by markOnServer.
	if err := names.close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := c.markOnServer(finished); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
