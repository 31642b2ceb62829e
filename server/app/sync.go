package app

import (
	"fmt"
	"os"
	"path/filepath"

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
	a.UploadDir = filepath.Join(a.Config.DataDir, "uploads")
	if err := os.MkdirAll(a.UploadDir, 0o700); err != nil {
		return fmt.Errorf("upload directory: %w", err)
	}
	return nil
}
