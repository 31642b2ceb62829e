package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app"
)

// A bad connection limit is refused with a message naming the setting,
// before anything is opened.
func TestConfig_DBMaxConns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, bad := range []string{"abc", "0", "-3"} {
		env := map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error", "SPOTCHECK_DB_MAX_CONNS": bad}
		code, _, stderr := runCommand(t, env, nil, "migrate")
		if code == 0 || !strings.Contains(stderr, "SPOTCHECK_DB_MAX_CONNS") {
			t.Errorf("SPOTCHECK_DB_MAX_CONNS=%s: exit %d, stderr %q", bad, code, stderr)
		}
	}
	env := map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error", "SPOTCHECK_DB_MAX_CONNS": "30"}
	if code, _, stderr := runCommand(t, env, nil, "migrate"); code != 0 {
		t.Errorf("SPOTCHECK_DB_MAX_CONNS=30: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCommand(t, map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error"}, nil, "migrate", "--db-max-conns", "-1"); code == 0 || !strings.Contains(stderr, "db-max-conns") {
		t.Errorf("--db-max-conns -1: exit %d, stderr %q", code, stderr)
	}
}

// --calendar adds the operator's years to the built-in calendar and replaces
// whole a year it has; a broken file stops the command with the file and line
// named.
func TestConfig_Calendar(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "cal.txt")
	if err := os.WriteFile(good, []byte("year 2027\n2027-01-01 holiday 元旦\nyear 2031\n2031-01-01 holiday 元旦\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("year 2027\n2027-13-01 holiday 元旦\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SPOTCHECK_DATA_DIR": filepath.Join(dir, "data"), "SPOTCHECK_LOG_LEVEL": "error", "SPOTCHECK_CALENDAR": bad}
	if code, _, stderr := runCommand(t, env, nil, "migrate"); code == 0 || !strings.Contains(stderr, "bad.txt") || !strings.Contains(stderr, "line 2") {
		t.Errorf("bad calendar: exit %d, stderr %q", code, stderr)
	}
	a, err := app.Open(context.Background(), app.Config{DataDir: filepath.Join(dir, "data"), CalendarFile: good}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Calendar.Years(); !slices.Contains(got, 2027) || !slices.Contains(got, 2026) || !slices.Contains(got, 2031) {
		t.Errorf("calendar years %v, want the built-in ones, 2027 and 2031", got)
	}
	for _, tt := range []struct {
		day  time.Time
		want bool
	}{
		{time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC), false}, // the file's holiday
		{time.Date(2027, 2, 8, 12, 0, 0, 0, time.UTC), true},  // a Monday lunar-go has off (春节): the file's 2027 replaced it
		{time.Date(2031, 1, 1, 12, 0, 0, 0, time.UTC), false}, // the year the file adds
		{time.Date(2031, 1, 2, 12, 0, 0, 0, time.UTC), true},
	} {
		if ok, err := a.Calendar.IsWorkingDay(tt.day); err != nil || ok != tt.want {
			t.Errorf("%s: working day %v, %v; want %v", tt.day.Format(time.DateOnly), ok, err, tt.want)
		}
	}
}

// serve refuses a pull wait the protocol cannot carry, before opening anything.
func TestConfig_PullWait(t *testing.T) {
	env := map[string]string{"SPOTCHECK_DATA_DIR": filepath.Join(t.TempDir(), "data"), "SPOTCHECK_LOG_LEVEL": "error"}
	for _, args := range [][]string{{"serve", "--pull-wait", "90s"}, {"serve", "--pull-wait", "-1s"}} {
		if code, _, stderr := runCommand(t, env, nil, args...); code != 2 || !strings.Contains(stderr, "pull-wait") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	env["SPOTCHECK_PULL_WAIT"] = "soon"
	if code, _, stderr := runCommand(t, env, nil, "serve"); code != 2 || !strings.Contains(stderr, "SPOTCHECK_PULL_WAIT") {
		t.Errorf("SPOTCHECK_PULL_WAIT=soon: exit %d, stderr %q", code, stderr)
	}
}

// A log level that is none stops the start with a message naming the
// setting, instead of passing for the default.
func TestConfig_LogLevel(t *testing.T) {
	env := map[string]string{"SPOTCHECK_DATA_DIR": filepath.Join(t.TempDir(), "data"), "SPOTCHECK_LOG_LEVEL": "verbose"}
	for _, cmd := range []string{"serve", "migrate"} {
		if code, _, stderr := runCommand(t, env, nil, cmd); code != 2 || !strings.Contains(stderr, "SPOTCHECK_LOG_LEVEL") {
			t.Errorf("%s with SPOTCHECK_LOG_LEVEL=verbose: exit %d, stderr %q", cmd, code, stderr)
		}
	}
	env["SPOTCHECK_LOG_LEVEL"] = "warn"
	if code, _, stderr := runCommand(t, env, nil, "migrate"); code != 0 {
		t.Errorf("SPOTCHECK_LOG_LEVEL=warn: exit %d: %s", code, stderr)
	}
}

// serve refuses edge settings it cannot use, naming them, before opening
// anything.
func TestConfig_EdgeSettings(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short-token")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--public-url", "ftp://x"}, "public-url"},
		{nil, []string{"--public-url", "https://x.example/?a=b"}, "public-url"},
		{nil, []string{"--trusted-proxy", "10.0.0.0/33"}, "trusted-proxy"},
		{nil, []string{"--trusted-proxy", "proxy.local"}, "trusted-proxy"},
		{nil, []string{"--max-conns", "0"}, "max-conns"},
		{map[string]string{"SPOTCHECK_MAX_CONNS": "many"}, nil, "SPOTCHECK_MAX_CONNS"},
		{map[string]string{"SPOTCHECK_METRICS_TOKEN": "short"}, nil, "metrics token"},
		{nil, []string{"--metrics-token-file", short}, "metrics token"},
		{nil, []string{"--metrics-token-file", filepath.Join(dir, "missing")}, "metrics-token-file"},
	} {
		env := map[string]string{"SPOTCHECK_DATA_DIR": filepath.Join(dir, "data"), "SPOTCHECK_LOG_LEVEL": "error"}
		for k, v := range tt.env {
			env[k] = v
		}
		code, _, stderr := runCommand(t, env, nil, append([]string{"serve"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v %v: exit %d, stderr %q", tt.env, tt.args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a refused start created the data directory")
	}
}
