package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/store"
)

// wireSync sets the sync and blob services: blobs live, content-addressed,
// in DataDir/blobs, and uploads in progress in DataDir/uploads (the same file
// system, so a verified upload moves into place with a rename).
func wireSync(a *App) error {
	a.Sync = store.NewSyncService(a.DB)
	blobs, err := store.NewBlobService(a.DB, filepath.Join(a.Config.DataDir, "blobs"))
	if err != nil {
		return err
	}
	a.Blobs = blobs
	a.Sync.UseBlobs(blobs)
	a.UploadDir = filepath.Join(a.Config.DataDir, "uploads")
	if err := os.MkdirAll(a.UploadDir, 0o700); err != nil {
		return fmt.Errorf("upload directory: %w", err)
	}
	a.Uploads = store.NewUploadService(a.DB)
	if a.Config.UploadLimits != nil {
		a.Uploads.Limits = *a.Config.UploadLimits
	}
	return nil
}

// DefaultUploadTTL is how long an unfinished upload is kept after its last
// byte arrived: long enough for a device to come back from a week without
// signal and resume, short enough that abandoned ones do not pile up.
const DefaultUploadTTL = 7 * 24 * time.Hour

// PruneUploads removes, every interval until ctx ends, the uploads nothing
// has written to for ttl (see api.PruneUploads).
func (a *App) PruneUploads(ctx context.Context, interval, ttl time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cutoff := a.DB.Now().Add(-ttl)
		n, err := api.PruneUploads(a.UploadDir, cutoff)
		if n > 0 {
			a.Logger.Info("pruned abandoned uploads", slog.Int("count", n), slog.Duration("ttl", ttl))
		}
		if err != nil {
			a.Logger.Warn("pruning abandoned uploads", slog.Any("err", err))
		}
		// What is gone no longer counts against the quotas.
		if _, err := api.ForgetPrunedUploads(ctx, a.Uploads, a.UploadDir, cutoff); err != nil {
			a.Logger.Warn("forgetting pruned uploads", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
