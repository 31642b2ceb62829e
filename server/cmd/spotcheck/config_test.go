package main

import (
	"path/filepath"
	"strings"
	"testing"
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
