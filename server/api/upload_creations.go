package api

import (
	"context"
	"sync"

	"github.com/labstack/echo/v4"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/spotcheck/spotcheck/syncproto"
)

// creations are the uploads being created under a name the device chose
// (syncproto.UploadMetaID). A device whose creation was cut asks at once
// where it got to (HEAD on that name); if the server is still handling the
// cut request, the upload may not exist yet, and a 404 would make the
// device start the file again under a new name. So a request for a name
// waits until its creation has ended, as tusd's lock makes a HEAD wait for
// a cut PATCH. Two creations of one name run one after the other.
type creations struct {
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when the creation ends
	blocked func(name string)        // if set, told when a request starts waiting (tests)
}

func newCreations() *creations { return &creations{pending: map[string]chan struct{}{}} }

// begin waits for any creation of name to end, then registers this one; end
// must be called when its request has been handled. ok is false if ctx
// ended first.
func (c *creations) begin(ctx context.Context, name string) (end func(), ok bool) {
	for {
		c.mu.Lock()
		ch, busy := c.pending[name]
		if !busy {
			ch = make(chan struct{})
			c.pending[name] = ch
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.pending, name)
				c.mu.Unlock()
				close(ch)
			}, true
		}
		c.mu.Unlock()
		if c.blocked != nil {
			c.blocked(name)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// wait blocks while a creation of name is in flight, or until ctx ends.
func (c *creations) wait(ctx context.Context, name string) {
	c.mu.Lock()
	ch, busy := c.pending[name]
	c.mu.Unlock()
	if !busy {
		return
	}
	if c.blocked != nil {
		c.blocked(name)
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// track registers a creation request that names its upload for as long as
// it is handled.
func (c *creations) track(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		name := tusd.ParseMetadataHeader(ec.Request().Header.Get("Upload-Metadata"))[syncproto.UploadMetaID]
		if !syncproto.ValidUploadID(name) {
			return next(ec) // unnamed, or refused by the create hook
		}
		end, ok := c.begin(ec.Request().Context(), name)
		if !ok {
			return ec.Request().Context().Err()
		}
		defer end()
		return next(ec)
	}
}

// settled makes a request for an upload wait for its creation to end.
func (c *creations) settled(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		c.wait(ec.Request().Context(), ec.Param("id"))
		return next(ec)
	}
}
