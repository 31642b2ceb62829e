package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
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
	// Every request got an answer (whatever the status), none an error.
	for _, name := range []string{"1 garbage methods", "5 wrong-password logins", "8 upload creations", "3 xlsx bomb import"} {
		got := res.Attacks[name]
		if got == "" || failure.MatchString(got) {
			t.Errorf("%s: %s", name, got)
		}
	}
	// One device's creations stop at its quota of unfinished uploads.
	l := server.DefaultUploadLimits
	admitted := min(l.OpenPerDevice, l.OpenPerUser, int(l.OpenBytesPerDevice/(32<<20)), int(l.OpenBytesPerUser/(32<<20)), int(l.DailyBytesPerUser/(32<<20)), cfg.Uploads)
	want := fmt.Sprintf("%d 201, %d 429 ", admitted, cfg.Uploads-admitted)
	if got := res.Attacks["8 upload creations"]; !strings.HasPrefix(got, want) {
		t.Errorf("upload creations: %s, want %s", got, want)
	}
}

// failure matches the tallies of requests that got no answer.
var failure = regexp.MustCompile(`^error|^no answer|\d+ (error|timeout|closed by server|dial |not sent)`)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
