package api

import (
	"context"
	"sync/atomic"
	"testing"
)

// A request for a name waits until the creation of that name has ended, and
// a second creation of the same name waits for the first; other names do
// not wait at all.
func TestCreations(t *testing.T) {
	ctx := context.Background()
	c := newCreations()
	var ended atomic.Bool
	end, ok := c.begin(ctx, "a")
	if !ok {
		t.Fatal("begin refused")
	}
	// The creation ends once the waiter has started waiting.
	c.blocked = func(string) {
		go func() { ended.Store(true); end() }()
	}
	c.wait(ctx, "b") // another name: returns at once, blocked not called
	if ended.Load() {
		t.Fatal("a request for another name waited")
	}
	c.wait(ctx, "a")
	if !ended.Load() {
		t.Fatal("the request went on before the creation ended")
	}
	c.wait(ctx, "a") // ended: no wait (blocked would end it twice)

	first, _ := c.begin(ctx, "a")
	ended.Store(false)
	c.blocked = func(string) {
		go func() { ended.Store(true); first() }()
	}
	second, ok := c.begin(ctx, "a")
	if !ok || !ended.Load() {
		t.Fatalf("the second creation began before the first ended (ok %v)", ok)
	}
	second()

	// A request whose context ends stops waiting.
	third, _ := c.begin(ctx, "a")
	defer third()
	cctx, cancel := context.WithCancel(ctx)
	c.blocked = func(string) { cancel() }
	c.wait(cctx, "a")
	if _, ok := c.begin(cctx, "a"); ok {
		t.Error("begin went through with its context ended")
	}
}
