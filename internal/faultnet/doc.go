// Package faultnet is an in-process, fault-injecting TCP proxy for the sync
// fault tests and benchmarks.
//
// A Proxy listens on 127.0.0.1:0 and forwards every accepted connection to one
// upstream address. For each new connection a Plan (connection index →
// Faults) decides what happens to it: bandwidth throttling (token bucket),
// one-way latency per chunk, a cut after exactly N bytes in a direction, a
// cut after a duration, or refusal. The proxy as a whole can be paused (a
// tunnel: nothing moves until Resume), told to refuse new connections (no
// network), cut all live connections at once, and given a shared link rate
// that all connections split, as a device's single uplink would. Bytes are
// counted per direction, per connection and in total, so a test can measure
// bytes on the wire and bytes re-sent after a cut.
//
// Directions: Up is client → upstream (device → server), Down is upstream →
// client. Connection indexes start at 0 in accept order, so "the 3rd
// connection" is index 2.
//
// Why not toxiproxy: it is importable in-process, but it pulls in prometheus,
// zerolog and gorilla/mux for what is a few hundred lines here, and its
// limit_data toxic counts bytes per toxic rather than giving an exact,
// per-connection, per-direction byte offset. The fault suite sweeps cuts over
// byte offsets and checks what the server received, so exact offsets and
// counters matter more than toxic variety. Standard library only.
//
// HTTP: point a client at Proxy.URL() ("http://" + Addr()). A Go http.Client
// reuses connections, so one connection index may carry many requests; set
// Transport.DisableKeepAlives when a test needs one connection per request.
//
// Byte-exact cuts: with CutClose the upstream receives exactly N bytes and then
// EOF. With CutReset the sockets are closed with SO_LINGER 0 (RST); bytes the
// proxy already wrote are normally in the peer's receive queue on loopback,
// but a RST discards anything still in the proxy's send buffer, so the peer
// may see fewer than N, exactly as on a real reset.
package faultnet
