package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A scaled-down run of the load test against the built server: every attack
// runs and is answered, /healthz answers throughout, memory stays under the
// limit, and one device's upload creations stop at its quota.
func TestLoadTestScaledDown(t *testing.T) {
	cfg := Config{
		Attack: 5 * time.Second, MaxRSS: 512 << 20,
		Methods: 200, MethodBytes: 30_000, XLSXCell: 1 << 20,
		SlowConns: 100, Logins: 4, Uploads: 80,
		Log: testWriter{t},
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out, cfg)
	t.Log("\n" + out.String())
	if why := res.Failed(cfg); why != "" {
		t.Fatal(why)
	}
	if got := res.Attacks["1 garbage methods"]; !strings.HasPrefix(got, "200 404 ") {
		t.Errorf("garbage methods: %s", got)
	}
	if got := res.Attacks["5 wrong-password logins"]; !strings.HasPrefix(got, "4 401;") {
		t.Errorf("logins: %s", got)
	}
	// 16 × 32 MiB fill the device's 512 MiB of open uploads; the rest wait.
	if got := res.Attacks["8 upload creations"]; !strings.HasPrefix(got, "16 201, 64 429 ") {
		t.Errorf("upload creations: %s", got)
	}
	if got := res.Attacks["3 xlsx bomb import"]; !strings.HasPrefix(got, "200 ") && !strings.HasPrefix(got, "400 ") && !strings.HasPrefix(got, "413 ") {
		t.Errorf("xlsx import: %s", got)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
