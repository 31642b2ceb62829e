package synctest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/store"
)

// processCPU is the CPU time (user and system) this process has used: the
// device and the server, which the loopback benchmarks run in one process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times
// (100 on Linux everywhere in practice).
const clockTicks = 100

// databaseCPU is the CPU time used so far by the PostgreSQL backends serving
// db's database (read from /proc; 0 on SQLite or where /proc is not
// readable). Backends that ended are not counted: the benchmark's pool
// keeps its connections for the whole day.
func databaseCPU(tb testing.TB, db *store.DB) time.Duration {
	if db.Dialect() != store.Postgres {
		return 0
	}
	var pids []int
	serverQuery(tb, db, &pids, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	var ticks int64
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3, utime 14 and stime 15.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
