package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1073741824": 1 << 30, "512MiB": 512 << 20, "1GiB": 1 << 30, "64 KiB": 64 << 10, "10B": 10} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "1GB", "lots", "99999999999TiB"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, n := range []int64{0, 1 << 30, 512 << 20, 1000} {
		b := byteSize(n)
		if got, err := parseByteSize(b.String()); err != nil || got != n {
			t.Errorf("%d prints as %q, which reads back as %d (%v)", n, b.String(), got, err)
		}
	}
}

// A bad upload limit stops serve with the setting named, before anything
// is opened.
func TestConfig_UploadLimits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for key, bad := range map[string]string{"SPOTCHECK_MIN_FREE_DISK": "1GB", "SPOTCHECK_UPLOAD_OPEN_PER_DEVICE": "-1", "SPOTCHECK_UPLOAD_BYTES_PER_DAY": "much"} {
		env := map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error", key: bad}
		if code, _, stderr := runCommand(t, env, nil, "serve", "--addr", "127.0.0.1:0"); code == 0 || !strings.Contains(stderr, key) {
			t.Errorf("%s=%s: exit %d, stderr %q", key, bad, code, stderr)
		}
	}
	env := map[string]string{"SPOTCHECK_DATA_DIR": dir, "SPOTCHECK_LOG_LEVEL": "error"}
	if code, _, stderr := runCommand(t, env, nil, "serve", "--min-free-disk", "2 parsecs"); code == 0 || !strings.Contains(stderr, "min-free-disk") {
		t.Errorf("--min-free-disk '2 parsecs': exit %d, stderr %q", code, stderr)
	}
}
