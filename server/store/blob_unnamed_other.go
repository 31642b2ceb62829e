//go:build !linux

package store

import (
	"errors"
	"os"
)

// errNoUnnamed: unnamed files are not available here.
var errNoUnnamed = errors.New("unnamed files are not supported")

// openUnnamed: unnamed files (O_TMPFILE) are Linux's; elsewhere batches
// stage named temporary files.
func openUnnamed(string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(*os.File, string) error { return errNoUnnamed }
