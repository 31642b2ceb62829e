package fleetbench

import (
	"context"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// TestFleetSmall runs the benchmark's code with 10 devices on both dialects,
// so it keeps working: every device's records reach the server exactly once,
// and no request fails except the one expected 401 per device after its
// access token expired during the day.
func TestFleetSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet of 10 devices; skipped with -short")
	}
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f := newFleet(ctx, t, h, options{Devices: 10, Packets: 2, Items: 2, Photos: 1, PhotoKB: 8, Day: 9 * time.Hour, Timeout: 2 * time.Minute})
		f.run(ctx)
		f.verify(ctx) // fails the test on anything lost or duplicated
		s := f.summary()
		if s.errors != 0 || s.unauthorized != f.expected401 || s.push.N == 0 || s.pull.N == 0 {
			t.Errorf("errors %d, 401s %d (want %d), %d pushes, %d pulls:\n%s", s.errors, s.unauthorized, f.expected401, s.push.N, s.pull.N, f.report(nil, ""))
		} else if testing.Verbose() {
			t.Log(f.report(nil, ""))
		}
	})
}
