package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// errNoUnnamed: unnamed files are not available here.
var errNoUnnamed = errors.New("unnamed files are not supported")

// openUnnamed creates an unnamed file in dir (O_TMPFILE): it gets a name
// only when linked (linkUnnamed), and is gone if the process dies first.
// Linking goes through /proc/self/fd, so without /proc it is not used.
func openUnnamed(dir string) (*os.File, error) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return nil, errNoUnnamed
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed)")), nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return nil, errNoUnnamed // the file system (or an old kernel) has no O_TMPFILE
	default:
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
}

// linkUnnamed names an unnamed file dst; a file already named dst is left
// as it is (blobs are named by their content).
func linkUnnamed(f *os.File, dst string) error {
	err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return &fs.PathError{Op: "link", Path: dst, Err: err}
	}
	return nil
}
