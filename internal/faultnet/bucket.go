package faultnet

import (
	"sync"
	"time"
)

// bucket is a token bucket in reservation form: a caller takes n tokens at
// once, possibly going into debt, and waits until the debt is repaid. Debt
// keeps several connections sharing one bucket fair and in order, and
// refilling from the real clock credits back any oversleep, so the long-run
// rate stays exact even with coarse timers.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(bytesPerSecond int64, burst int) *bucket {
	if bytesPerSecond <= 0 {
		return nil
	}
	b := float64(burst)
	if b < 1 {
		b = 1
	}
	return &bucket{rate: float64(bytesPerSecond), burst: b, tokens: b}
}

// reserve takes n tokens and returns how long to wait before sending them.
func (b *bucket) reserve(n int, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens += b.rate * now.Sub(b.last).Seconds()
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// chunkFor picks a forwarding chunk: about 20 ms of traffic when throttled
// (so the byte stream is smooth rather than bursty), 16 KiB otherwise.
func chunkFor(d DirFaults, linkRate int64) int {
	if d.Chunk > 0 {
		return d.Chunk
	}
	rate := d.BytesPerSecond
	if linkRate > 0 && (rate == 0 || linkRate < rate) {
		rate = linkRate
	}
	if rate <= 0 {
		return 16 << 10
	}
	c := int(rate / 50)
	if c < 512 {
		c = 512
	}
	if c > 16<<10 {
		c = 16 << 10
	}
	return c
}
