//go:build !linux

package faultnet

import "net"

// unsent is unknown off Linux: a byte-exact reset cut may then deliver
// fewer bytes than asked, as a real reset would.
func unsent(net.Conn) (int, bool) { return 0, false }
