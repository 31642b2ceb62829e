//go:build !(linux || darwin || freebsd)

package app

import "errors"

// FreeDisk is not implemented here: the disk floor is not enforced.
func FreeDisk(path string) (uint64, error) {
	return 0, errors.New("free disk space is not known on this system")
}
