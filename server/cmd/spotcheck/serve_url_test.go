package main

import (
	"net"
	"testing"
)

// serve prints a console URL a browser on the machine can open.
func TestBrowseURL(t *testing.T) {
	for _, tt := range []struct {
		addr      net.Addr
		publicURL string
		want      string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "", "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "", "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 9000}, "", "http://10.0.0.7:9000"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "", "http://[::1]:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "https://spotcheck.example.org", "https://spotcheck.example.org"},
	} {
		if got := browseURL(tt.addr, tt.publicURL); got != tt.want {
			t.Errorf("browseURL(%s, %q) = %q, want %q", tt.addr, tt.publicURL, got, tt.want)
		}
	}
}
