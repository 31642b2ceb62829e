package api

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PruneUploads removes the resumable uploads in dir (tusd's file store: a
// data file ID and its ID.info) that nothing has written to since before
// cutoff: uploads a device started and never finished. A device that comes
// back later finds its upload gone (404), asks whether the server holds the
// blob and starts again, so pruning loses nothing a device still holds.
// Finished uploads have already left dir for the blob store. It returns how
// many uploads it removed.
func PruneUploads(dir string, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// An upload's last activity is the newer of its two files.
	last := map[string]time.Time{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		id := strings.TrimSuffix(e.Name(), ".info")
		if !uploadIDPattern.MatchString(id) {
			continue
		}
		if t, ok := last[id]; !ok || info.ModTime().After(t) {
			last[id] = info.ModTime()
		}
	}
	removed := 0
	var errs []error
	for id, t := range last {
		if !t.Before(cutoff) {
			continue
		}
		for _, name := range []string{id + ".info", id} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
