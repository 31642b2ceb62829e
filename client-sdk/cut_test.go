package sdk

import (
	"context"
	"errors"
	"net"
	"net/http"
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
