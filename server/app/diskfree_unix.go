//go:build linux || darwin || freebsd

package app

import "syscall"

// FreeDisk returns the bytes available to unprivileged writers on the file
// system that holds path.
func FreeDisk(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
