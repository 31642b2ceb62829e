package sdk

import (
	"sync"

	"gorm.io/gorm"
)

// uploadNames remembers on the device, in batches, the names of the uploads
// being created: one local commit (one fsync) for all the names that came in
// while the last batch was written, instead of one commit per file before
// its creation is sent. A name is only needed to resume a creation cut
// before its answer after the device itself stopped; one not yet committed
// then costs that file's resume, not the file: the next sync creates the
// upload again (the server drops the device's earlier upload of the same
// file), sending at most its first chunk again.
type uploadNames struct {
	c       *Client
	mu      sync.Mutex
	pending map[string]string // sha256 → upload path
	err     error             // the first failed batch's
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func (c *Client) startUploadNames() *uploadNames {
	n := &uploadNames{c: c, pending: map[string]string{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go n.run()
	return n
}

// remember queues the upload path of the file with this hash.
func (n *uploadNames) remember(sha, path string) {
	n.mu.Lock()
	n.pending[sha] = path
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *uploadNames) run() {
	defer close(n.done)
	for {
		select {
		case <-n.wake:
			n.commit()
		case <-n.stop:
			n.commit()
			return
		}
	}
}

// commit writes the queued names in one local transaction.
func (n *uploadNames) commit() {
	n.mu.Lock()
	batch := n.pending
	n.pending = map[string]string{}
	n.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := n.c.tx(func(tx *gorm.DB) error {
		for sha, path := range batch {
			if err := setUploadURL(tx, sha, path); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.mu.Lock()
		if n.err == nil {
			n.err = err
		}
		n.mu.Unlock()
	}
}

// close commits what is queued and returns the first error any batch met.
func (n *uploadNames) close() error {
	close(n.stop)
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}
