package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

// byteSize is a flag holding a number of bytes: 1073741824, 512MiB, 1GiB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}

func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 1GiB", s)
	}
	return n * mult, nil
}

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	*b = byteSize(n)
	return err
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range byteUnits[:4] {
		if n >= u.n && n%u.n == 0 && (n/u.n < 1024 || u.suffix == "TiB") {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// uploadFlags are serve's limits on what devices may put on disk.
type uploadFlags struct {
	openPerDevice, openPerUser                   int
	openBytesPerDevice, openBytesPerUser, perDay byteSize
	minFreeDisk                                  byteSize
}

// register adds the flags, each defaulting to its environment variable.
func (u *uploadFlags) register(fs *flag.FlagSet, env *Env) error {
	d := server.DefaultUploadLimits
	u.openPerDevice, u.openPerUser = d.OpenPerDevice, d.OpenPerUser
	u.openBytesPerDevice, u.openBytesPerUser, u.perDay = byteSize(d.OpenBytesPerDevice), byteSize(d.OpenBytesPerUser), byteSize(d.DailyBytesPerUser)
	u.minFreeDisk = api.DefaultMinFreeDisk
	for _, c := range []struct {
		key string
		n   *int
	}{{"SPOTCHECK_UPLOAD_OPEN_PER_DEVICE", &u.openPerDevice}, {"SPOTCHECK_UPLOAD_OPEN_PER_USER", &u.openPerUser}} {
		if v := env.Getenv(c.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return usagef("%s %q is not a count (0 turns the limit off)", c.key, v)
			}
			*c.n = n
		}
	}
	for _, c := range []struct {
		key string
		b   *byteSize
	}{{"SPOTCHECK_UPLOAD_OPEN_BYTES_PER_DEVICE", &u.openBytesPerDevice}, {"SPOTCHECK_UPLOAD_OPEN_BYTES_PER_USER", &u.openBytesPerUser},
		{"SPOTCHECK_UPLOAD_BYTES_PER_DAY", &u.perDay}, {"SPOTCHECK_MIN_FREE_DISK", &u.minFreeDisk}} {
		if v := env.Getenv(c.key); v != "" {
			if err := c.b.Set(v); err != nil {
				return usagef("%s: %v", c.key, err)
			}
		}
	}
	fs.IntVar(&u.openPerDevice, "upload-open-per-device", u.openPerDevice, "unfinished attachment uploads one device may hold; 0: no limit (env SPOTCHECK_UPLOAD_OPEN_PER_DEVICE)")
	fs.Var(&u.openBytesPerDevice, "upload-open-bytes-per-device", "declared bytes of one device's unfinished uploads together; 0: no limit (env SPOTCHECK_UPLOAD_OPEN_BYTES_PER_DEVICE)")
	fs.IntVar(&u.openPerUser, "upload-open-per-user", u.openPerUser, "unfinished uploads of all of one user's devices; 0: no limit (env SPOTCHECK_UPLOAD_OPEN_PER_USER)")
	fs.Var(&u.openBytesPerUser, "upload-open-bytes-per-user", "declared bytes of one user's unfinished uploads together; 0: no limit (env SPOTCHECK_UPLOAD_OPEN_BYTES_PER_USER)")
	fs.Var(&u.perDay, "upload-bytes-per-day", "attachment bytes one user may store in 24 hours, unfinished uploads included; 0: no limit (env SPOTCHECK_UPLOAD_BYTES_PER_DAY)")
	fs.Var(&u.minFreeDisk, "min-free-disk", "free space in the data directory below which uploads and device imports are refused (507); 0: no floor (env SPOTCHECK_MIN_FREE_DISK)")
	return nil
}

func (u *uploadFlags) limits() (*server.UploadLimits, error) {
	if u.openPerDevice < 0 || u.openPerUser < 0 {
		return nil, usagef("--upload-open-per-device and --upload-open-per-user must be 0 or more")
	}
	return &server.UploadLimits{
		OpenPerDevice: u.openPerDevice, OpenBytesPerDevice: int64(u.openBytesPerDevice),
		OpenPerUser: u.openPerUser, OpenBytesPerUser: int64(u.openBytesPerUser),
		DailyBytesPerUser: int64(u.perDay),
	}, nil
}
