//go:build linux

package fleetbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the machine's CPU time (from /proc/stat, in clock ticks) and
// this process's (server and devices together).
type cpuSample struct {
	ticks [8]uint64 // user nice system idle iowait irq softirq steal
	self  time.Duration
}

func readCPU() cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i := 0; i < len(s.ticks) && i+1 < len(f); i++ {
		s.ticks[i], _ = strconv.ParseUint(f[i+1], 10, 64)
	}
	return s
}

// since describes the CPU used between before and s; self names what runs
// in this process. Clock ticks are taken as 1/100 s (USER_HZ on Linux).
func (s cpuSample) since(before cpuSample, self string) string {
	var d [8]float64
	var total float64
	for i := range d {
		d[i] = float64(s.ticks[i] - before.ticks[i])
		total += d[i]
	}
	if total == 0 {
		return "unknown"
	}
	busy := total - d[3] - d[4]
	used := (s.self - before.self).Seconds()
	pct := func(x float64) float64 { return 100 * x / total }
	return fmt.Sprintf("machine %.0f%% busy (user %.0f%%, system %.0f%%, iowait %.0f%%, steal %.0f%%), %.1f core-seconds; "+
		"this process (%s) %.1f core-seconds, everything else (PostgreSQL and any other work on the machine) %.1f",
		pct(busy), pct(d[0]+d[1]), pct(d[2]+d[5]+d[6]), pct(d[4]), pct(d[7]), busy/100, self, used, max(busy/100-used, 0))
}

// raiseFileLimit lifts the open-files limit to the hard limit (the server
// process inherits it): 500 devices keep up to three connections each.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
