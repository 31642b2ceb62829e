package sdk

import (
	"math"
	"sync"
	"time"
)

// Upload concurrency bounds: at least two (one fills the other's round
// trip even before anything is measured), at most eight (past that the
// server's per-device upload quota and the device's memory, a chunk each,
// matter more than the link).
const (
	minUploads = 2
	maxUploads = 8
)

// From fastLinkRate on (loopback, a LAN) the link is not what limits
// uploads but the server's durable write of each file (its fsync), and
// fastLinkUploads files at once overlap those writes.
const (
	fastLinkRate    = 25e6 // bytes per second
	fastLinkUploads = 4
)

// rttSampleBytes bounds the requests and answers timed as round trips: small
// enough that their time is the link's delay, not its rate.
const rttSampleBytes = 4 << 10

// linkStats is what the device measured of its link: the round trip (from
// small requests: the missing query, an upload's HEAD, a small push) and the
// upload rate (bytes of whole uploads over the time uploads were running).
type linkStats struct {
	mu   sync.Mutex
	rtt  time.Duration
	rate float64 // bytes per second, all uploads together
}

// observeRTT follows the smallest recent round trip: a lower sample is taken
// at once, a higher one moves the estimate an eighth of the way (queueing
// behind uploads inflates samples).
func (l *linkStats) observeRTT(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rtt == 0 || d < l.rtt {
		l.rtt = d
	} else {
		l.rtt += (d - l.rtt) / 8
	}
}

// observeRate records that bytes were uploaded in elapsed, with every
// upload worker busy.
func (l *linkStats) observeRate(bytes int64, elapsed time.Duration) {
	if bytes <= 0 || elapsed <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = float64(bytes) / elapsed.Seconds()
}

// fast reports whether the uploads measured the link at fastLinkRate or
// more.
func (l *linkStats) fast() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate >= fastLinkRate
}

// uploads is how many uploads keep the link busy when each request carries
// about reqBytes: while one request waits a round trip for its answer, the
// others must have rtt×rate bytes to send, so 1 + BDP/reqBytes of them,
// between minUploads and maxUploads. Unmeasured, it is minUploads.
func (l *linkStats) uploads(reqBytes int64) int {
	l.mu.Lock()
	rtt, rate := l.rtt, l.rate
	l.mu.Unlock()
	least := minUploads
	if rate >= fastLinkRate {
		least = fastLinkUploads
	}
	if rtt <= 0 || rate <= 0 || reqBytes <= 0 {
		return least
	}
	bdp := rate * rtt.Seconds()
	n := 1 + int(math.Ceil(bdp/float64(reqBytes)))
	return min(max(n, least), maxUploads)
}
