package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// A connection reset mid-request is a cut (retried at once); a server that
// cannot be reached is not (retried with backoff).
func TestCutOrUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1024)
			nc.Read(buf) // the request has arrived: reset the connection
			nc.(*net.TCPConn).SetLinger(0)
			nc.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	c := &Client{http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	for _, tc := range []struct {
		base string
		cut  bool
	}{{"http://" + ln.Addr().String(), true}, {refused, false}} {
		_, err := c.send(context.Background(), tc.base, "", request{method: http.MethodPost, path: "/x", body: []byte("{}")})
		if !errors.Is(err, ErrOffline) {
			t.Fatalf("%s: %v, want ErrOffline", tc.base, err)
		}
		if got := errors.Is(err, errCut); got != tc.cut {
			t.Errorf("%s: cut = %v, want %v (%v)", tc.base, got, tc.cut, err)
		}
	}
}

// The errors a cut shows up as, from the reading and the writing side, are
// cuts; a connection that could not be opened is not.
func TestIsCut(t *testing.T) {
	write := func(err error) error {
		return &url.Error{Op: "Patch", URL: "http://127.0.0.1:1/v1/uploads/x", Err: fmt.Errorf("readfrom tcp 127.0.0.1:2->127.0.0.1:1: %w",
			&net.OpError{Op: "write", Net: "tcp", Err: err})}
	}
	for _, tc := range []struct {
		err error
		cut bool
	}{
		{write(net.ErrClosed), true}, // the reader closed the connection under the writer
		{write(os.NewSyscallError("write", syscall.EPIPE)), true},
		{write(os.NewSyscallError("write", syscall.ECONNRESET)), true},
		{&url.Error{Op: "Post", Err: io.ErrUnexpectedEOF}, true},
		{&url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, false},
		{&url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Net: "tcp", Err: net.ErrClosed}}, false},
		{context.DeadlineExceeded, false},
	} {
		if got := isCut(tc.err); got != tc.cut {
			t.Errorf("isCut(%v) = %v, want %v", tc.err, got, tc.cut)
		}
	}
}
