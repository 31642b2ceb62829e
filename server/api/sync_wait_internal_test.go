package api

import (
	"testing"
	"time"
)

func TestPullWait_Capped(t *testing.T) {
	for _, c := range []struct {
		seconds int
		max     time.Duration
		want    time.Duration
	}{
		{0, DefaultMaxPullWait, 0},
		{-3, DefaultMaxPullWait, 0},
		{10, DefaultMaxPullWait, 10 * time.Second},
		{60, DefaultMaxPullWait, 25 * time.Second},
		{10, 0, 0}, // long polls turned off
	} {
		if got := pullWait(c.seconds, c.max); got != c.want {
			t.Errorf("pullWait(%d, %s) = %s, want %s", c.seconds, c.max, got, c.want)
		}
	}
}
