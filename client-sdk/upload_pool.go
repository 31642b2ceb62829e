package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// uploadAll uploads todo, several requests at once, each a batch of small
// files or one file by tus (see nextJob). One request at a time leaves a
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
	// Small files first: the first batches measure the link, and a fast one
	// then takes the photos in batches too.
	todo = slices.Clone(todo)
	slices.SortStableFunc(todo, func(a, b attachmentRow) int { return cmp.Compare(a.Size, b.Size) })
	batches := true // until the server says it takes none
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
			n, batch := c.nextJob(todo[next:], batches)
			job := todo[next : next+n]
			next += n
			busy++
			mu.Unlock()

			var stored []string
			var err error
			if !batch {
				stored, err = c.uploadEach(ctx, job, onRecovering, names)
			} else if stored, err = c.uploadBatch(ctx, job, onRecovering); errors.Is(err, errNoBatches) {
				// An older server: these files, and the rest, by tus.
				mu.Lock()
				batches = false
				mu.Unlock()
				stored, err = c.uploadEach(ctx, job, onRecovering, names)
			} else if err != nil {
				err = fmt.Errorf("batch upload of %d attachments: %w", len(job), err)
			}
			mu.Lock()
			busy--
			mu.Unlock()
			if len(stored) > 0 {
				c.updateProgress(func(p *Progress) { p.ItemsUp += len(stored) })
				mu.Lock()
				for _, a := range job {
					if slices.Contains(stored, a.SHA256) {
						done += a.Size
					}
				}
				finished = append(finished, stored...)
				if running >= minUploads {
					// All workers busy since start: the rate of the link.
					c.link.observeRate(done, time.Since(start))
				}
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				failed = true
				mu.Unlock()
			} else {
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

// nextJob is what one worker sends next, from the first of files: a batch
// of the files the link has batched (see batchable), up to batchBytes and
// syncproto.MaxBatchFiles, or one file by tus. n is how many files.
func (c *Client) nextJob(files []attachmentRow, batches bool) (n int, batch bool) {
	fast := c.link.fast()
	if !batches || !c.batchable(files[0], fast) {
		return 1, false
	}
	total, budget := int64(0), c.batchBytes(fast)
	for _, a := range files {
		if n == syncproto.MaxBatchFiles || !c.batchable(a, fast) || (n > 0 && total+a.Size > budget) {
			break
		}
		n, total = n+1, total+a.Size
	}
	return n, true
}

// uploadEach uploads files one after the other by tus and returns those
// stored. A file the server refuses for its content for good is logged and
// left out: uploading it again cannot help, and the push that follows is
// answered with a rejection of every change that refers to it, which the
// inspector sees. Any other failure stops it.
func (c *Client) uploadEach(ctx context.Context, files []attachmentRow, recovering func(bool), names *uploadNames) (stored []string, err error) {
	for _, a := range files {
		err := c.upload(ctx, a, recovering, names)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.Code == syncproto.CodeAttachmentRefused:
			c.log.Warn("attachment refused by the server", "sha256", a.SHA256, "reason", ae.Message)
		case err != nil:
			return stored, fmt.Errorf("upload attachment %s: %w", a.SHA256[:12], err)
		default:
			stored = append(stored, a.SHA256)
		}
	}
	return stored, nil
}
