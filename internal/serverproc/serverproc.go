// Package serverproc runs `spotcheck serve` as a child process, for the
// benchmarks and load tests that keep the server out of their own process,
// and tells its address once it listens.
package serverproc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Proc is a running server.
type Proc struct {
	Cmd  *exec.Cmd
	URL  string // http://host:port, where it listens
	done chan struct{}
}

// Start starts cmd, a `spotcheck serve --addr 127.0.0.1:0 …` command whose
// standard output it takes over, and waits until the server says where it
// listens, exits, ctx ends or wait has passed. On an error the process is
// stopped.
func Start(ctx context.Context, cmd *exec.Cmd, wait time.Duration) (*Proc, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "spotcheck listening on "); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	select {
	case p.URL = <-addr:
		return p, nil
	case <-p.done:
		return nil, errors.New("the server exited before listening")
	case <-time.After(wait):
		p.Stop()
		return nil, errors.New("the server did not listen in time")
	case <-ctx.Done():
		p.Stop()
		return nil, ctx.Err()
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stop asks the server to shut down, kills it after 10 s, and waits for it.
func (p *Proc) Stop() {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Cmd.Process.Kill()
		<-p.done
	}
}
